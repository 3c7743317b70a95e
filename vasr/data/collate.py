"""Padding a list of examples into a CTC batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vasr.audio import SAMPLE_RATE
from vasr.data.features import AudioFeatures, Waveform, round_up

LABEL_PAD = -100  # ignored by Wav2Vec2ForCTC's loss
LABEL_STEP = 16  # label widths of shape-stable batches are multiples of this


@dataclass(frozen=True)
class Example:
    """One utterance ready for the model: its 16 kHz waveform (augmented, not yet made into the model's input)."""

    id: str
    audio: np.ndarray
    labels: list[int]
    text: str


@dataclass
class CTCCollator:
    """The model's inputs made by ``features`` (its family's: raw ``input_values`` or ``input_features``, with the
    attention mask where the model takes one), labels padded with -100, and ``input_lengths`` in samples.

    ``pad_to`` (samples) rounds the padded length up to a multiple, as the sampler's buckets do, so
    an epoch's batches come in few shapes; labels are then padded to a multiple of ``LABEL_STEP``.
    """

    features: AudioFeatures = Waveform()
    pad_to: int | None = None

    def __call__(self, examples: list[Example]) -> dict:
        lengths = torch.tensor([len(e.audio) for e in examples])
        width = round_up(max((len(e.labels) for e in examples), default=0), LABEL_STEP if self.pad_to else None)
        labels = torch.full((len(examples), width), LABEL_PAD, dtype=torch.long)
        for row, example in enumerate(examples):
            labels[row, : len(example.labels)] = torch.tensor(example.labels, dtype=torch.long)
        batch = self.features([e.audio for e in examples], self.pad_to) | {
            "labels": labels,
            "input_lengths": lengths,
            "audio_seconds": float(lengths.sum()) / SAMPLE_RATE,  # a float: no device sync to read it
            "ids": [e.id for e in examples],
            "texts": [e.text for e in examples],
        }
        return batch
