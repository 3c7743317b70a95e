"""Reads and validates SoICT-format JSONL manifests before any training step.

Every bad line either raises :class:`ManifestError` naming the file and line, or, when the
caller asks to skip, is counted by reason in a :class:`ValidationReport`. Only headers are
read, so a 100,000-line manifest validates in seconds.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from vasr.audio import SAMPLE_RATE, DurationCache
from vasr.text import normalize
from vasr.text.normalize import DEFAULT_DROP, NumberStrategy

SOICT_KEYS = ("id", "sentence", "intent", "sentence_annotation", "entities", "file")
ASR_KEYS = ("id", "sentence", "file")


class ManifestError(ValueError):
    """A manifest line that cannot be used, located as ``file:line``."""


@dataclass(frozen=True)
class Item:
    """One usable utterance: normalised transcript, audio path and header duration."""

    id: str
    text: str
    path: str
    duration: float
    line: int
    sentence: str = ""
    manifest: str = ""

    @property
    def where(self) -> str:
        """``manifest:line``, how errors name this utterance."""
        return f"{self.manifest}:{self.line}"


@dataclass
class ValidationReport:
    """What validation kept, skipped (bad input) and filtered (duration limits), by reason."""

    manifest: str
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    filtered: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    resampled: int = 0
    downmixed: int = 0

    def note(self, counter: Counter, reason: str, where: str, detail: str = "", max_examples: int = 20) -> None:
        """Count ``reason``; keep the first examples in full (``file:line: detail``) for the report."""
        counter[reason] += 1
        if len(self.examples) < max_examples:
            self.examples.append(f"{where}: {detail or reason}")

    def to_dict(self) -> dict:
        return {
            "manifest": self.manifest,
            "kept": self.kept,
            "skipped": dict(self.skipped),
            "filtered": dict(self.filtered),
            "resampled": self.resampled,
            "downmixed": self.downmixed,
            "examples": self.examples,
        }

    def summary(self) -> str:
        parts = [f"{self.manifest}: kept {self.kept}"]
        if self.skipped:
            parts.append("skipped " + ", ".join(f"{n} {r}" for r, n in self.skipped.most_common()))
        if self.filtered:
            parts.append("filtered " + ", ".join(f"{n} {r}" for r, n in self.filtered.most_common()))
        if self.resampled or self.downmixed:
            parts.append(f"{self.resampled} to resample, {self.downmixed} to mix down to mono")
        return "; ".join(parts)


def read_manifest(
    manifest: str | Path,
    audio_dir: str | Path | None = None,
    *,
    numbers: NumberStrategy = "keep",
    drop: str = DEFAULT_DROP,
    skip_bad: bool = False,
    min_duration: float | None = None,
    max_duration: float | None = None,
    required_keys: tuple[str, ...] = ASR_KEYS,
    cache: DurationCache | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[list[Item], ValidationReport]:
    """Validate every line of ``manifest``; audio paths resolve against ``audio_dir`` (default: its folder)."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise ManifestError(f"{manifest}: manifest not found")
    audio_root = Path(audio_dir) if audio_dir else manifest.parent
    cache = cache if cache is not None else DurationCache(DurationCache.default_file(audio_root))
    report = ValidationReport(str(manifest))
    items: list[Item] = []

    errors: list[str] = []

    def bad(reason: str, number: int) -> None:
        where = f"{manifest}:{number}"
        if not skip_bad:
            errors.append(f"{where}: {reason}")
        report.note(report.skipped, reason.split(":")[0], where, reason)

    with manifest.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as error:
                bad(f"not UTF-8: byte {error.start} of the line", number)
                continue
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                bad(f"not JSON: {error.msg} at column {error.colno}", number)
                continue
            if not isinstance(record, dict):
                bad("not a JSON object", number)
                continue
            missing = [key for key in required_keys if key not in record]
            if missing:
                bad(f"missing key: {', '.join(missing)}", number)
                continue
            text = normalize(str(record["sentence"]), numbers=numbers, drop=drop)
            if not text:
                bad("empty sentence", number)
                continue
            path = audio_root / str(record["file"])
            if not path.is_file():
                bad(f"audio file missing: {path}", number)
                continue
            try:
                duration, rate, channels, promised = cache.duration(path)
            except (RuntimeError, sf.LibsndfileError) as error:
                bad(f"audio unreadable: {path} ({error})", number)
                continue
            if duration <= 0:
                bad(f"audio empty: {path}", number)
                continue
            if promised > duration + 1e-3:
                bad(
                    f"audio truncated: {path} holds {duration:.2f} s of the {promised:.2f} s its header declares",
                    number,
                )
                continue
            where = f"{manifest}:{number}"
            if min_duration is not None and duration < min_duration:
                report.note(report.filtered, f"shorter than {min_duration}s", where)
                continue
            if max_duration is not None and duration > max_duration:
                report.note(report.filtered, f"longer than {max_duration}s", where)
                continue
            report.resampled += rate != sample_rate
            report.downmixed += channels > 1
            items.append(
                Item(str(record["id"]), text, str(path), duration, number, str(record["sentence"]), str(manifest))
            )
    cache.save()
    if errors:
        raise ManifestError(bad_lines_message(manifest, errors))
    report.kept = len(items)
    return items, report


def bad_lines_message(manifest: Path, errors: list[str], shown: int = 20) -> str:
    """Every bad line of a manifest in one message (the first ``shown``), with the way to skip them."""
    more = f"\n  … and {len(errors) - shown} more" if len(errors) > shown else ""
    return (
        f"{manifest}: {len(errors)} bad line{'s' if len(errors) > 1 else ''}:\n  " + "\n  ".join(errors[:shown]) + more
        + "\nFix them, or skip them with data.skip_bad=true (each is counted in the run's validation.json)"
    )  # fmt: skip
