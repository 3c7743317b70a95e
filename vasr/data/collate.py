"""Padding a list of examples into a CTC batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vasr.audio import SAMPLE_RATE

LABEL_PAD = -100  # ignored by Wav2Vec2ForCTC's loss
LABEL_STEP = 16  # label widths of shape-stable batches are multiples of this


@dataclass(frozen=True)
class Example:
    """One utterance ready for the model."""

    id: str
    audio: np.ndarray
    labels: list[int]
    text: str


def round_up(value: int, multiple: int | None) -> int:
    """``value`` rounded up to a multiple of ``multiple`` (unchanged when it is None)."""
    return -(-value // multiple) * multiple if multiple else value


@dataclass
class CTCCollator:
    """Pads audio with zeros (after standardisation) and labels with -100.

    ``pad_to`` (samples) rounds the padded length up to a multiple, as the sampler's buckets do, so
    an epoch's batches come in few shapes; labels are then padded to a multiple of ``LABEL_STEP``.
    ``attention_mask`` is returned only for models that use it (``feat_extract_norm="layer"``);
    base checkpoints trained without one decode worse when given it.
    """

    return_attention_mask: bool = True
    pad_to: int | None = None

    def __call__(self, examples: list[Example]) -> dict:
        lengths = torch.tensor([len(e.audio) for e in examples])
        audio = torch.zeros(len(examples), round_up(int(lengths.max()), self.pad_to))
        for row, example in enumerate(examples):
            audio[row, : len(example.audio)] = torch.from_numpy(example.audio)
        width = round_up(max((len(e.labels) for e in examples), default=0), LABEL_STEP if self.pad_to else None)
        labels = torch.full((len(examples), width), LABEL_PAD, dtype=torch.long)
        for row, example in enumerate(examples):
            labels[row, : len(example.labels)] = torch.tensor(example.labels, dtype=torch.long)
        batch = {
            "input_values": audio,
            "labels": labels,
            "input_lengths": lengths,
            "audio_seconds": float(lengths.sum()) / SAMPLE_RATE,  # a float: no device sync to read it
            "ids": [e.id for e in examples],
            "texts": [e.text for e in examples],
        }
        if self.return_attention_mask:
            batch["attention_mask"] = (torch.arange(audio.shape[1])[None, :] < lengths[:, None]).long()
        return batch
