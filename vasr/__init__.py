"""vasr: fine-tuning wav2vec 2.0 CTC models on Vietnamese speech."""

from pathlib import Path

from omegaconf import OmegaConf

__version__ = "0.1.0"

# Files shipped inside the package (the pretrained checkpoint); configs name them ${vasr_asset:NAME}
# so they resolve wherever vasr is installed and whatever the working directory.
ASSETS = Path(__file__).parent / "assets"
OmegaConf.register_new_resolver("vasr_asset", lambda name: str(ASSETS / name), replace=True)

import vasr.recipe.run_folder  # noqa: E402, F401  (registers ${vasr_launch_id:} and ${vasr_rank_zero:})
