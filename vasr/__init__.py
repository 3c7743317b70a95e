"""vasr: fine-tuning wav2vec 2.0 CTC models on Vietnamese speech."""

from pathlib import Path

__version__ = "0.1.0"

# Files shipped inside the package (the pretrained checkpoint); configs name them ${vasr_asset:NAME}
# (vasr.recipe.resolvers) so they resolve wherever vasr is installed and whatever the working directory.
ASSETS = Path(__file__).parent / "assets"
