"""Learning-rate schedules that transformers does not have in the shape fine-tuning recipes give them."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def tri_stage(
    optimizer: torch.optim.Optimizer,
    num_training_steps: int,
    num_warmup_steps: int | None = None,
    warmup: float = 0.1,
    hold: float = 0.4,
    init_scale: float = 0.01,
    final_scale: float = 0.05,
) -> LambdaLR:
    """fairseq's ``tri_stage``: linear warm-up from ``init_scale``, a hold at the peak, then exponential decay
    to ``final_scale`` of it at the last step.

    The warm-up is ``num_warmup_steps`` when given (as the model configs give it), else a share ``warmup`` of
    the run; hold and decay are shares of the run (fairseq's ``phase_ratio``), since a Hydra config cannot
    know the step total that ``transformers``' ``warmup_stable_decay`` wants in absolute steps.
    """
    warm = num_warmup_steps if num_warmup_steps is not None else round(warmup * num_training_steps)
    held = round(hold * num_training_steps)
    decay = max(1, num_training_steps - warm - held)

    def scale(step: int) -> float:
        if step < warm:
            return init_scale + (1 - init_scale) * step / warm
        if step < warm + held:
            return 1.0
        return math.exp(math.log(final_scale) * min(1.0, (step - warm - held) / decay))

    return LambdaLR(optimizer, scale)
