"""Transcripts too long for their audio under CTC: bad input, found before any training step.

CTC emits one symbol per output frame and needs a blank between two equal symbols, so a
transcript of U labels with R adjacent repeats needs U + R frames. One that needs more than
its audio gives is an impossible target: its loss is infinite, which ``ctc_zero_infinity``
would silently turn into a zero. Usually the transcript belongs to another file, or the audio
was cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vasr.audio import SAMPLE_RATE
from vasr.data.index import UtteranceIndex
from vasr.data.manifest import ManifestError, ValidationReport, bad_lines_message

REASON = "transcript too long for its audio under CTC"


def frames_needed(labels: Sequence[int]) -> int:
    """Labels plus one blank between each pair of equal neighbours."""
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:], strict=False))


def check_ctc_fit(
    splits: dict[str, UtteranceIndex],
    tokenize: Callable[[str], list[int]],
    frames: Callable[[int], int],
    reports: Sequence[ValidationReport],
    skip_bad: bool = False,
) -> dict[str, UtteranceIndex]:
    """Items whose transcript fits their audio; others raise naming ``file:line``, or are counted and dropped."""
    by_manifest = {report.manifest: report for report in reports}
    kept: dict[str, UtteranceIndex] = {}
    errors: dict[str, list[str]] = {}
    for name, items in splits.items():
        keep = np.ones(len(items), dtype=bool)
        for position in np.flatnonzero(~surely_fit(items, tokenize, frames)):
            item = items[position]
            have = frames(round(item.duration * SAMPLE_RATE))
            need = frames_needed(tokenize(item.text))
            if need <= have:
                continue
            keep[position] = False
            detail = f"{REASON}: {need} frames needed, {item.duration:.2f} s gives {have}"
            if not skip_bad or item.manifest not in by_manifest:
                errors.setdefault(item.manifest, []).append(f"{item.where}: {detail}")
                continue
            report = by_manifest[item.manifest]
            report.note(report.skipped, REASON, item.where, detail)
            report.kept -= 1
        kept[name] = items if keep.all() else items.take(keep)
    if errors:
        raise ManifestError("\n".join(bad_lines_message(Path(manifest), found) for manifest, found in errors.items()))
    return kept


def surely_fit(
    items: UtteranceIndex, tokenize: Callable[[str], list[int]], frames: Callable[[int], int], sample: int = 1000
) -> np.ndarray:
    """Which items fit without tokenizing them: a transcript of B UTF-8 bytes has at most B labels (each label
    covers a character or more; when ``sample`` random items show otherwise, none is sure), so it needs at most 2B
    frames. The fewest samples giving 2B frames are searched once per distinct B (``frames`` grows with samples),
    not per item."""
    if not len(items):
        return np.ones(0, dtype=bool)
    texts = items.columns["text"]
    lengths = texts.lengths()
    for position in np.random.default_rng(0).choice(len(items), min(sample, len(items)), replace=False):
        if len(tokenize(texts[position])) > lengths[position]:
            return np.zeros(len(items), dtype=bool)
    bounds = 2 * lengths
    samples = np.rint(items.durations * SAMPLE_RATE).astype(np.int64)
    distinct, where = np.unique(bounds, return_inverse=True)
    fewest = np.array([fewest_samples(frames, int(bound)) for bound in distinct], dtype=np.int64)
    return samples >= fewest[where]


def fewest_samples(frames: Callable[[int], int], wanted: int) -> int:
    """The fewest samples that ``frames`` turns into ``wanted`` frames or more (a binary search)."""
    low, high = 0, 1
    while frames(high) < wanted:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if frames(middle) < wanted else (low, middle)
    return low
