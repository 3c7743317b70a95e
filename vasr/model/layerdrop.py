"""LayerDrop that skips the same transformer layers on every DDP rank.

transformers draws LayerDrop from each process's own random stream, so under DDP the ranks skip
different layers: gradient reduction then fails ("parameters that were not used in producing the
loss") or hangs. Here one draw per training step comes from a generator seeded by (seed, step,
batch), the same on every rank. Skipped layers get an exact zero gradient through a zero-weighted
term, so DDP's graph stays static and every rank saves the skipped layers' compute; their gradients
are cleared before the optimizer step, so AdamW leaves them alone as it does in a single process.
The layers and the first one that may be skipped are the model's family's (WavLM never skips its first).
Adapter layers after the encoder (w2v-BERT's ``add_adapter``, wav2vec2's) are never skipped: transformers
would draw them per rank too, and each divides the frame rate, so a skipped one would change the CTC output
length from the frame count the data and decoding compute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from transformers import PreTrainedModel

from vasr.model.family import Family, family_of


class SyncedLayerDrop:
    """Owns the LayerDrop of ``model`` (its ``config.layerdrop``) while training."""

    def __init__(self, model: PreTrainedModel, seed: int = 0) -> None:
        self.model = model
        self.family = family_of(model.config)
        self.seed = seed
        self.probability = float(model.config.layerdrop)
        self._unused: set[int] | None = None  # layers no batch of the pending optimizer step used
        keep_adapter_layers(model)

    @property
    def layers(self) -> nn.ModuleList:
        return self.family.layers(self.model)

    def draw(self, step: int, batch_idx: int) -> list[int]:
        """Indices of the layers to skip for this batch: the same on every rank."""
        generator = torch.Generator().manual_seed(hash((self.seed, step, batch_idx)) & 0x7FFF_FFFF)
        drawn = torch.rand(len(self.layers), generator=generator) < self.probability
        drawn[: self.family.droppable_from] = False
        return torch.nonzero(drawn).flatten().tolist()

    @contextmanager
    def skipping(self, step: int, batch_idx: int) -> Iterator[list[int]]:
        """The encoder runs without this batch's skipped layers; transformers' own draw is off meanwhile."""
        if not self.probability or not self.model.training:
            yield []
            return
        skipped = self.draw(step, batch_idx)
        every = self.layers
        encoder, config = self.family.encoder(self.model).encoder, self.model.config
        encoder.layers = nn.ModuleList([layer for i, layer in enumerate(every) if i not in skipped])
        config.layerdrop = 0.0
        try:
            yield skipped
        finally:
            encoder.layers = every
            config.layerdrop = self.probability
        self._unused = set(skipped) if self._unused is None else self._unused & set(skipped)

    def zero_term(self, skipped: list[int]) -> torch.Tensor | float:
        """0 x the skipped layers' parameters: each gets a zero gradient, so DDP sees every parameter used."""
        return zero_weighted(p for i in skipped for p in self.layers[i].parameters())

    def clear_unused_grads(self) -> None:
        """Before the optimizer step: layers skipped by every batch of the step have no gradient."""
        for index in self._unused or ():
            for param in self.layers[index].parameters():
                param.grad = None
        self._unused = None


def keep_adapter_layers(model: PreTrainedModel) -> None:
    """Turn off LayerDrop in the strided adapter after the encoder, where the family has one (module docstring)."""
    adapter = getattr(Family.encoder(model), "adapter", None)
    if adapter is not None and hasattr(adapter, "layerdrop"):
        adapter.layerdrop = 0.0


def zero_weighted(params: Iterable[nn.Parameter]) -> torch.Tensor | float:
    """0 x the sum of the trainable ``params``: a term whose gradient is exactly zero for each of them."""
    trainable = [p for p in params if p.requires_grad]
    return sum(p.sum() for p in trainable) * 0.0 if trainable else 0.0
