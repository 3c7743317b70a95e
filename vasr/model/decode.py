"""Greedy CTC decoding that ignores the frames produced by padding."""

from __future__ import annotations

import torch
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC


def greedy_decode(
    model: Wav2Vec2ForCTC, tokenizer: Wav2Vec2CTCTokenizer, logits: torch.Tensor, input_lengths: torch.Tensor
) -> list[str]:
    """Argmax per frame, each row cut at the frames its true length produced, then CTC-collapsed."""
    frames = model._get_feat_extract_output_lengths(input_lengths).tolist()
    best = logits.argmax(dim=-1).cpu()
    return tokenizer.batch_decode([row[: int(n)].tolist() for row, n in zip(best, frames, strict=True)])
