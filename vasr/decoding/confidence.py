"""How sure the acoustic model was of each decoded word, from the CTC posteriors of the frames it was read from.

A word's confidence is the geometric mean, over the frames of its span, of the posterior of the likeliest label
the word allows there: one of its own characters, or blank (CTC's "nothing new here")::

    confidence(word) = exp( mean_{f in span} max_{c in chars(word) + blank} log p(c | f) )

Why this one: on the greedy path it is the per-frame probability of the path itself, so a frame the model was
torn over lowers it; a word the n-gram put in against the acoustics (its characters unlikely where it stands) gets
a low value, which the raw frame maximum would not show; the geometric mean keeps one doubtful frame visible
without letting a long word's many sure frames drown it as an arithmetic mean would. A file's confidence is the
same mean over all its words' frames. Whether the numbers mean what they say is measured, not assumed: a
reliability table (confidence bins against word accuracy on the validation split, :func:`reliability`).
"""

from __future__ import annotations

from collections.abc import Iterable

import jiwer
import numpy as np
import torch
from transformers import Wav2Vec2CTCTokenizer


def label_ids(tokenizer: Wav2Vec2CTCTokenizer, word: str) -> list[int]:
    """Blank's id and the ids of ``word``'s characters (the unknown token's for one outside the vocabulary)."""
    ids = [tokenizer.pad_token_id, *tokenizer.convert_tokens_to_ids(list(word))]
    if None in ids:
        raise ValueError(f"{word!r} has a character outside the vocabulary, which has no unknown token")
    return ids


def frame_log_confidences(log_probs: torch.Tensor, ids: list[int], start: int, end: int) -> torch.Tensor:
    """Per frame of ``[start, end)`` (at least one frame), the log-posterior of the likeliest label among ``ids``."""
    end = min(max(end, start + 1), log_probs.shape[0])
    start = min(start, end - 1)
    return log_probs[start:end, ids].max(dim=-1).values


def word_confidences(
    log_probs: torch.Tensor, words: list[tuple[str, int, int]], tokenizer: Wav2Vec2CTCTokenizer
) -> list[tuple[float, int]]:
    """Each of ``words`` (``(word, first frame, end frame)``) as (confidence, frames it was read from)."""
    spans = [frame_log_confidences(log_probs, label_ids(tokenizer, w), a, b) for w, a, b in words]
    return [(float(span.float().mean().exp()), len(span)) for span in spans]


def overall_confidence(words: list[tuple[float, int]]) -> float | None:
    """The confidence of all ``words`` together (each as (confidence, frames)): the same geometric mean over all
    their frames; None without words."""
    frames = sum(n for _, n in words)
    if not frames:
        return None
    return float(np.exp(sum(np.log(max(c, 1e-12)) * n for c, n in words) / frames))


def word_correctness(reference: str, hypothesis: str) -> list[bool]:
    """For each word of ``hypothesis``, whether it is a word of ``reference`` that the edit-distance alignment
    keeps (not substituted, not inserted)."""
    words = hypothesis.split()
    if not words:
        return []
    if not reference.split():
        return [False] * len(words)
    right = [False] * len(words)
    for chunk in jiwer.process_words(reference, hypothesis).alignments[0]:
        if chunk.type == "equal":
            right[chunk.hyp_start_idx : chunk.hyp_end_idx] = [True] * (chunk.hyp_end_idx - chunk.hyp_start_idx)
    return right


def reliability(pairs: Iterable[tuple[float, bool]], bins: int = 10) -> list[dict]:
    """Confidence bins against word accuracy: for each bin of ``(confidence, word was right)`` pairs, its range,
    word count, mean confidence and accuracy (a calibrated confidence has the two equal)."""
    values = np.array([(c, r) for c, r in pairs], dtype=float).reshape(-1, 2)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    for low, high in zip(edges, edges[1:], strict=False):
        inside = (values[:, 0] >= low) & ((values[:, 0] < high) | (high == 1.0))
        if inside.any():
            table.append(
                {
                    "bin": f"{low:.2f}-{high:.2f}",
                    "words": int(inside.sum()),
                    "mean_confidence": round(float(values[inside, 0].mean()), 4),
                    "accuracy": round(float(values[inside, 1].mean()), 4),
                }
            )
    return table
