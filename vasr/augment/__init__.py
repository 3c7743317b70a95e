"""On-the-fly waveform augmentation of training audio (``conf/augment``); validation and test never see it."""

from vasr.augment.noise import Babble, ColouredNoise, Hum, NoiseFolder
from vasr.augment.pipeline import Augmentation, SampleKey
from vasr.augment.rooms import RirFolder, SyntheticRooms
from vasr.augment.transforms import AddNoise, Reverb

__all__ = [
    "AddNoise",
    "Augmentation",
    "Babble",
    "ColouredNoise",
    "Hum",
    "NoiseFolder",
    "Reverb",
    "RirFolder",
    "SampleKey",
    "SyntheticRooms",
]
