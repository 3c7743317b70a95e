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

from vasr.audio import SAMPLE_RATE
from vasr.data.manifest import Item, ManifestError, ValidationReport, bad_lines_message

REASON = "transcript too long for its audio under CTC"


def frames_needed(labels: Sequence[int]) -> int:
    """Labels plus one blank between each pair of equal neighbours."""
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:], strict=False))


def check_ctc_fit(
    splits: dict[str, list[Item]],
    tokenize: Callable[[str], list[int]],
    frames: Callable[[int], int],
    reports: Sequence[ValidationReport],
    skip_bad: bool = False,
) -> dict[str, list[Item]]:
    """Items whose transcript fits their audio; others raise naming ``file:line``, or are counted and dropped."""
    by_manifest = {report.manifest: report for report in reports}
    kept: dict[str, list[Item]] = {}
    errors: dict[str, list[str]] = {}
    for name, items in splits.items():
        kept[name] = []
        for item in items:
            have = frames(round(item.duration * SAMPLE_RATE))
            need = frames_needed(tokenize(item.text))
            if need <= have:
                kept[name].append(item)
                continue
            detail = f"{REASON}: {need} frames needed, {item.duration:.2f} s gives {have}"
            if not skip_bad or item.manifest not in by_manifest:
                errors.setdefault(item.manifest, []).append(f"{item.where}: {detail}")
                continue
            report = by_manifest[item.manifest]
            report.note(report.skipped, REASON, item.where, detail)
            report.kept -= 1
    if errors:
        raise ManifestError("\n".join(bad_lines_message(Path(manifest), found) for manifest, found in errors.items()))
    return kept
