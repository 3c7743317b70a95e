"""A batch of waveforms as the model's input: raw ``input_values`` or a feature extractor's ``input_features``.

Made in the loader workers (the collator calls it), after waveform augmentation. Which of the two a
model takes, and with which settings, is its family's to say (:mod:`vasr.model.family`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from transformers.feature_extraction_utils import FeatureExtractionMixin

from vasr.audio import SAMPLE_RATE, standardize


def round_up(value: int, multiple: int | None) -> int:
    """``value`` rounded up to a multiple of ``multiple`` (unchanged when it is None)."""
    return -(-value // multiple) * multiple if multiple else value


class AudioFeatures(Protocol):
    """Waveforms (16 kHz float32) in, the model's padded input tensors out (``attention_mask`` if it takes one)."""

    input_name: str
    attention_mask: bool  # whether the model reads padded batches with a mask (else: one utterance at a time)

    def __call__(self, audio: list[np.ndarray], pad_to: int | None = None) -> dict[str, torch.Tensor]: ...


@dataclass(frozen=True)
class Waveform:
    """Raw audio as ``input_values`` (wav2vec2, HuBERT, WavLM, data2vec-audio), as ``Wav2Vec2FeatureExtractor`` makes
    it: each utterance standardised alone (``normalize``), padded with ``padding_value`` to the longest (rounded up to
    a multiple of ``pad_to`` samples). ``attention_mask`` only for models trained with one: base checkpoints trained
    without one decode worse when given it."""

    normalize: bool = True
    padding_value: float = 0.0
    attention_mask: bool = True
    input_name: str = "input_values"

    def __call__(self, audio: list[np.ndarray], pad_to: int | None = None) -> dict[str, torch.Tensor]:
        lengths = torch.tensor([len(a) for a in audio])
        values = torch.full((len(audio), round_up(int(lengths.max()), pad_to)), self.padding_value)
        for row, samples in enumerate(audio):
            values[row, : len(samples)] = torch.from_numpy(standardize(samples) if self.normalize else samples)
        found = {self.input_name: values}
        if self.attention_mask:
            found["attention_mask"] = (torch.arange(values.shape[1])[None, :] < lengths[:, None]).long()
        return found


@dataclass(frozen=True)
class Extracted:
    """Features a transformers feature extractor computes (w2v-BERT's stacked filter banks: ``input_features``,
    with their attention mask). ``hop`` is the samples per input frame, so a padding multiple given in samples
    becomes one in frames."""

    extractor: FeatureExtractionMixin
    hop: int
    input_name: str = "input_features"
    attention_mask: bool = True  # the extractor always makes one; the model masks padded frames with it

    def __call__(self, audio: list[np.ndarray], pad_to: int | None = None) -> dict[str, torch.Tensor]:
        found = self.extractor(
            audio,
            sampling_rate=SAMPLE_RATE,
            padding="longest",
            pad_to_multiple_of=max(1, pad_to // self.hop) if pad_to else None,
            return_attention_mask=True,
            return_tensors="pt",
        )
        return {self.input_name: found[self.input_name], "attention_mask": found["attention_mask"]}
