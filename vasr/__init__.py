"""vasr: fine-tuning wav2vec 2.0 CTC models on Vietnamese speech."""

__version__ = "0.1.0"
