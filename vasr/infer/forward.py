"""A CTC model over padded batches, each utterance's log-probabilities what they are when it is read alone.

Models whose feature encoder was trained with an attention mask (layer-normed: XLS-R, MMS, large checkpoints;
w2v-BERT's filter banks) read a padded batch with the mask, and padding changes none of an utterance's frames.
Base checkpoints (wav2vec 2.0, HuBERT and WavLM base, vasr-tiny-vi: ``feat_extract_norm="group"``, whatever their
extractor says of a mask) normalise the first convolution's output over time, padding included, so a padded batch
would change every frame: transformers' ASR
pipeline at ``batch_size=8`` scores worse than at 1 for that reason (transformers#21534). Here such a model's
convolutional feature encoder reads each utterance alone (a third of a base model's arithmetic), and the layers
above it read the batch with a mask built from the true lengths: transformers zeroes padded frames before the
positional convolution (as that convolution's own zero padding does at an utterance's end) and masks them in
attention, so each real frame comes out as unbatched, within float rounding (tests/infer/test_forward.py, every
family). A family transformers does not read padding exactly in (:attr:`Family.reads_padding_exactly`), and a
graph without a mask input (ONNX), are batched at equal lengths only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from vasr.data.features import AudioFeatures
from vasr.decoding.ctc import cut_log_probs
from vasr.model.family import Family, family_of


def resolve_device(device: str | None = "auto") -> torch.device:
    """``auto`` (or None): the GPU when there is one, else the CPU; anything else as torch names it."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def model_inputs(batch: dict, input_name: str, device: torch.device) -> dict[str, torch.Tensor]:
    """The model's input and (where the batch has one) attention mask of a collated batch, on ``device``."""
    return {key: batch[key].to(device) for key in (input_name, "attention_mask") if key in batch}


class UtteranceWiseEncoder(nn.Module):
    """A feature encoder run on each row's first ``lengths[row]`` samples alone, outputs zero-padded to the longest."""

    def __init__(self, convolutions: nn.Module, lengths: list[int]) -> None:
        super().__init__()
        self.convolutions, self.lengths = convolutions, lengths

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        rows = [self.convolutions(input_values[row : row + 1, :n]) for row, n in enumerate(self.lengths)]
        width = max(row.shape[-1] for row in rows)
        return torch.cat([nn.functional.pad(row, (0, width - row.shape[-1])) for row in rows])


def feature_encoder_owner(model: nn.Module) -> nn.Module | None:
    """The module holding a waveform model's convolutional ``feature_extractor``; None for any other model."""
    owner = Family.encoder(model) if hasattr(model, "base_model") else None
    return owner if isinstance(getattr(owner, "feature_extractor", None), nn.Module) else None


@contextmanager
def utterance_wise(owner: nn.Module, lengths: list[int]) -> Iterator[None]:
    """``owner``'s feature encoder reading each utterance alone while the block runs."""
    convolutions = owner.feature_extractor
    owner.feature_extractor = UtteranceWiseEncoder(convolutions, lengths)
    try:
        yield
    finally:
        owner.feature_extractor = convolutions


class CTCForward:
    """The model on ``device`` turning collated batches (:class:`~vasr.data.collate.CTCCollator`'s) into each
    utterance's (frames, vocabulary) CTC log-probabilities on the CPU, cut at its true length."""

    def __init__(self, model: nn.Module, features: AudioFeatures, device: str | torch.device | None = "auto") -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.family = family_of(model.config)
        self.model = model.eval().to(self.device)
        self.features = features
        group_normed = getattr(model.config, "feat_extract_norm", None) == "group"
        self.owner = feature_encoder_owner(model) if group_normed else None

    @property
    def pads_exactly(self) -> bool:
        """Whether utterances of different lengths may share a batch without changing their results."""
        return self.family.reads_padding_exactly and (self.features.attention_mask or self.owner is not None)

    def __call__(self, batch: dict) -> list[torch.Tensor]:
        lengths = [int(n) for n in batch["input_lengths"]]
        inputs = model_inputs(batch, self.features.input_name, self.device)
        with torch.inference_mode():
            if self.owner is not None and self.pads_exactly and len(set(lengths)) > 1:
                positions = torch.arange(inputs[self.features.input_name].shape[1])
                mask = (positions[None, :] < torch.tensor(lengths)[:, None]).long().to(self.device)
                values = inputs[self.features.input_name]
                with utterance_wise(self.owner, lengths):
                    logits = self.model(**{self.features.input_name: values}, attention_mask=mask).logits
            else:
                if not self.pads_exactly and len(set(lengths)) > 1:
                    raise ValueError(f"this model reads a padded batch wrongly: lengths {sorted(set(lengths))}")
                logits = self.model(**inputs).logits
        return [row.cpu() for row in cut_log_probs(logits, [self.family.frames(n) for n in lengths])]
