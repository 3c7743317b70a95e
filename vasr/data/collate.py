"""Padding a list of examples into a CTC batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

LABEL_PAD = -100  # ignored by Wav2Vec2ForCTC's loss


@dataclass(frozen=True)
class Example:
    """One utterance ready for the model."""

    id: str
    audio: np.ndarray
    labels: list[int]
    text: str


@dataclass
class CTCCollator:
    """Pads audio with zeros (after standardisation) and labels with -100.

    ``attention_mask`` is returned only for models that use it (``feat_extract_norm="layer"``);
    base checkpoints trained without one decode worse when given it.
    """

    return_attention_mask: bool = True

    def __call__(self, examples: list[Example]) -> dict:
        lengths = torch.tensor([len(e.audio) for e in examples])
        audio = torch.zeros(len(examples), int(lengths.max()))
        for row, example in enumerate(examples):
            audio[row, : len(example.audio)] = torch.from_numpy(example.audio)
        label_lengths = [len(e.labels) for e in examples]
        labels = torch.full((len(examples), max(label_lengths, default=0)), LABEL_PAD, dtype=torch.long)
        for row, example in enumerate(examples):
            labels[row, : len(example.labels)] = torch.tensor(example.labels, dtype=torch.long)
        batch = {
            "input_values": audio,
            "labels": labels,
            "input_lengths": lengths,
            "ids": [e.id for e in examples],
            "texts": [e.text for e in examples],
        }
        if self.return_attention_mask:
            batch["attention_mask"] = (torch.arange(audio.shape[1])[None, :] < lengths[:, None]).long()
        return batch
