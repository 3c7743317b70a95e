"""Averaging the weights of a run's best checkpoints (icefall's and ESPnet's ``--avg``).

Checkpoints near the end of a fine-tune sit around one minimum; their mean often generalises
better than any one of them, and costs nothing at inference. The run keeps whichever scores
better on validation (``vasr.recipe.evaluation.choose_export``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import PreTrainedModel, Wav2Vec2CTCTokenizer

from vasr.model.export import load_checkpoint


def average_checkpoints(paths: Sequence[str | Path]) -> tuple[PreTrainedModel, Wav2Vec2CTCTokenizer]:
    """The model whose every floating-point weight is the mean over ``paths`` (other buffers: the first's)."""
    if not paths:
        raise ValueError("no checkpoints to average")
    model, tokenizer = load_checkpoint(paths[0])
    total = {k: v.clone().double() for k, v in model.state_dict().items() if v.is_floating_point()}
    for path in paths[1:]:
        other, _ = load_checkpoint(path)
        for key, value in other.state_dict().items():
            if key in total:
                total[key] += value.double()
    with torch.no_grad():
        model.load_state_dict({**model.state_dict(), **{k: (v / len(paths)).float() for k, v in total.items()}})
    return model, tokenizer
