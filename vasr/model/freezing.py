"""Training the CTC head alone for the first updates (fairseq's ``freeze_finetune_updates``).

A new, randomly initialised output layer sends large gradients into a pretrained transformer;
holding the transformer still until the head has learnt something keeps them out. The encoder
runs without autograd meanwhile (no backward through it: the steps are cheaper too). Under DDP
its parameters get an exact zero gradient through a zero-weighted term, so the reduction sees
every parameter, and their gradients are cleared before the optimizer step: AdamW, weight decay
included, leaves them alone, as in one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from transformers import PreTrainedModel

from vasr.model.family import Family
from vasr.model.layerdrop import zero_weighted


class HeadOnly:
    """Owns the frozen-transformer phase of ``model``: everything below the CTC head (``model.wav2vec2``,
    ``model.hubert``, ...: its family's encoder) runs without gradients."""

    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model
        self.encoder = Family.encoder(model)

    @contextmanager
    def __call__(self, active: bool) -> Iterator[None]:
        if not active:
            yield
            return
        encoder, enabled = self.encoder, torch.is_grad_enabled()

        def no_grad(*_) -> None:  # hooks that return something replace the module's inputs or outputs
            torch.set_grad_enabled(False)

        def restore(*_) -> None:
            torch.set_grad_enabled(enabled)

        hooks = [encoder.register_forward_pre_hook(no_grad), encoder.register_forward_hook(restore)]
        try:
            yield
        finally:
            for hook in hooks:
                hook.remove()
            torch.set_grad_enabled(enabled)

    def zero_term(self) -> torch.Tensor | float:
        """0 x the encoder's trainable parameters: DDP sees each of them used (with a zero gradient)."""
        return zero_weighted(self.encoder.parameters())

    def clear_grads(self) -> None:
        """The encoder's parameters have no gradient for this step, so the optimizer skips them."""
        for param in self.encoder.parameters():
            param.grad = None
