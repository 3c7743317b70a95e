"""Reads and validates manifests before any training step: SoICT-format JSONL, and the ecosystem's manifests as
they are (:mod:`vasr.data.sources` reads each format into the same rows; the checks here are the same for all).

Every bad line either raises :class:`ManifestError` naming the file and line, or, when the
caller asks to skip, is counted by reason in a :class:`ValidationReport`. Only headers are
read, so a 100,000-line manifest validates in seconds.
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import soundfile as sf

from vasr.audio import SAMPLE_RATE, DurationCache, audio_file
from vasr.data.index import IndexBuilder, Item, UtteranceIndex
from vasr.data.sources import BadRow, ManifestError, Row, Source, open_source
from vasr.text import normalize
from vasr.text.normalize import DEFAULT_DROP, NumberStrategy

SOICT_KEYS = ("id", "sentence", "intent", "sentence_annotation", "entities", "file")
ASR_KEYS = ("id", "sentence", "file")
# Seconds a duration the manifest states may differ from its audio's header: NeMo and lhotse round durations; a
# segment of a longer file (which vasr cannot read: it reads whole files) differs by more.
DURATION_SLACK = 0.1

# Headers read to check the durations a manifest states (data.verify_durations=sample): enough to catch a manifest
# whose durations are wrong throughout, in about a second.
VERIFY_SAMPLE = 1000
Verify = Literal["sample", "all", "none"]

# Bad or filtered lines a report quotes in full.
MAX_EXAMPLES = 20

SKIP_IN_TRAINING = "data.skip_bad=true (each is counted in the run's validation.json)"

__all__ = [
    "ASR_KEYS",
    "SOICT_KEYS",
    "VERIFY_SAMPLE",
    "Checks",
    "Item",
    "ManifestError",
    "UtteranceIndex",
    "ValidationReport",
    "bad_lines_message",
    "check_row",
    "note_bad",
    "read_manifest",
]


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

    def note(self, counter: Counter, reason: str, where: str, detail: str = "", most: int = MAX_EXAMPLES) -> None:
        """Count ``reason``; keep the first examples in full (``file:line: detail``) for the report."""
        counter[reason] += 1
        if len(self.examples) < most:
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

    @classmethod
    def from_dict(cls, found: dict) -> ValidationReport:
        """The report :meth:`to_dict` gave."""
        counters = {key: Counter(found[key]) for key in ("skipped", "filtered")}
        return cls(**(found | counters))

    def summary(self) -> str:
        parts = [f"{self.manifest}: kept {self.kept}"]
        if self.skipped:
            parts.append("skipped " + ", ".join(f"{n} {r}" for r, n in self.skipped.most_common()))
        if self.filtered:
            parts.append("filtered " + ", ".join(f"{n} {r}" for r, n in self.filtered.most_common()))
        if self.resampled or self.downmixed:
            parts.append(f"{self.resampled} to resample, {self.downmixed} to mix down to mono")
        return "; ".join(parts)


@dataclass(frozen=True)
class Checks:
    """What a row must pass to become an :class:`Item` (``read_manifest``'s options, held once)."""

    audio_root: Path
    cache: DurationCache
    numbers: NumberStrategy = "keep"
    drop: str = DEFAULT_DROP
    required_keys: tuple[str, ...] = ASR_KEYS
    min_duration: float | None = None
    max_duration: float | None = None
    sample_rate: int = SAMPLE_RATE
    trust_durations: bool = False


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
    verify_durations: Verify = "sample",
    verify_sample: int = VERIFY_SAMPLE,
    workers: int | None = None,
    skip_hint: str = SKIP_IN_TRAINING,
) -> tuple[UtteranceIndex, ValidationReport]:
    """Validate every row of ``manifest`` (vasr's JSON lines, NeMo's, a lhotse CutSet, a Hugging Face table: see
    :mod:`vasr.data.sources`); audio paths resolve against ``audio_dir`` (default: the manifest's folder).

    A row without a duration has its audio header read. A row stating one is taken at its word unless
    ``verify_durations`` says ``all``, or ``sample`` picks it among ``verify_sample`` random such rows (seeded:
    every rank picks the same): a million utterances then validate without a million file reads. A large plain
    JSON-lines manifest is read in pieces by ``workers`` processes (default: one per core, up to 8, from
    ``READ_PIECE_BYTES`` of manifest up), with the same result as one. Bad rows are refused in one message that
    ends with how to skip them (``skip_hint``: a run's option by default, a tool's own where a tool reads).
    """
    if verify_durations not in ("sample", "all", "none"):
        raise ValueError(f"verify_durations is {verify_durations!r}: give sample, all or none")
    source = open_source(manifest)
    audio_root = Path(audio_dir) if audio_dir else source.root
    cache = cache if cache is not None else DurationCache(DurationCache.default_file(audio_root))
    options = (numbers, drop, required_keys, min_duration, max_duration, sample_rate)
    checks = Checks(audio_root, cache, *options, trust_durations=verify_durations != "all")
    pieces = source.pieces(reading_workers(source, workers))
    if len(pieces) == 1:
        read = [read_rows(pieces[0], checks, source.name, skip_bad)]
    else:  # the checks (the duration cache with them) reach the processes once, as they start, not with each piece
        start = (checks, source.name, skip_bad)
        with ProcessPoolExecutor(len(pieces), reading_context(), initializer=start_reader, initargs=start) as pool:
            read = list(pool.map(read_piece, pieces))
        for piece in read:
            cache.add(piece.cache)
    report = merge_reports(source.name, [piece.report for piece in read])
    errors = [error for piece in read for error in piece.errors]
    stated = np.flatnonzero(np.concatenate([piece.stated for piece in read]))
    index = UtteranceIndex.concat([piece.index for piece in read], consume=True) if len(read) > 1 else read[0].index
    del read
    if verify_durations == "sample" and len(stated):
        picked = np.sort(np.random.default_rng(0).choice(stated, min(verify_sample, len(stated)), replace=False))
        index = verify_stated(index, picked.tolist(), Checks(Path(), cache, *options), report, errors, skip_bad)
    cache.save()
    if errors:
        raise ManifestError(bad_lines_message(source.name, errors, skip=skip_hint))
    report.kept = len(index)
    return index, report


# Manifest bytes per reading process: below it one process reads (a fork costs more than its share saves).
READ_PIECE_BYTES = 16 << 20
MAX_READERS = 8


def reading_workers(source: Source, workers: int | None) -> int:
    """How many processes read ``source``: ``workers`` when given, else one per core up to ``MAX_READERS`` and
    one per ``READ_PIECE_BYTES`` of manifest."""
    if workers is not None:
        return max(1, workers)
    if source.lines is None:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_READERS, source.lines.stat().st_size // READ_PIECE_BYTES))


def reading_context() -> BaseContext:
    """Processes forked where the platform can (nothing to import or pickle in), else spawned."""
    return get_context("fork" if "fork" in get_all_start_methods() else "spawn")


READER: dict[str, tuple[Checks, str, bool]] = {}  # in a reading process: what start_reader was given


def start_reader(checks: Checks, name: str, skip_bad: bool) -> None:
    """A reading process's start: the checks every piece it reads is held to."""
    READER["checks"] = (checks, name, skip_bad)


def read_piece(rows: Callable[[], Iterator[Row]]) -> Piece:
    """:func:`read_rows` in a reading process."""
    return read_rows(rows, *READER["checks"])


class Piece(NamedTuple):
    """What one process made of its run of rows: the utterances kept, the report, the bad lines when they refuse,
    which kept rows stated their duration (1) and the headers it read."""

    index: UtteranceIndex
    report: ValidationReport
    errors: list[str]
    stated: np.ndarray
    cache: dict[str, list]


def read_rows(rows: Callable[[], Iterator[Row]], checks: Checks, name: str, skip_bad: bool) -> Piece:
    """Every row of ``rows()`` checked into a :class:`Piece`."""
    report = ValidationReport(name)
    builder = IndexBuilder()
    trusted = array("b")  # per kept row: 1 where its duration is the manifest's word, no header read
    errors: list[str] = []
    for row in rows():
        try:
            item = check_row(row, checks, report)
        except BadRow as error:
            note_bad(report, row, str(error), errors if not skip_bad else None)
            continue
        if item is not None:
            trusted.append(checks.trust_durations and stated_duration(row.record) is not None)
            builder.append(item)
    stated = np.frombuffer(trusted, dtype=np.int8).copy()
    return Piece(builder.build(), report, errors, stated, checks.cache.new_entries())


def merge_reports(name: str, reports: list[ValidationReport]) -> ValidationReport:
    """The reports of a manifest's pieces, in order, as one."""
    if len(reports) == 1:
        return reports[0]
    merged = ValidationReport(name)
    for report in reports:
        merged.skipped += report.skipped
        merged.filtered += report.filtered
        merged.examples += report.examples[: MAX_EXAMPLES - len(merged.examples)]
        merged.resampled += report.resampled
        merged.downmixed += report.downmixed
    return merged


def verify_stated(
    index: UtteranceIndex, picked: list[int], checks: Checks, report: ValidationReport, errors: list[str], skip: bool
) -> UtteranceIndex:
    """``index`` less the ``picked`` utterances whose audio does not hold the duration the manifest states (each
    counted in ``report``, or listed in ``errors`` when bad rows refuse); ``checks`` resolve the items' paths as
    they are."""
    keep = np.ones(len(index), dtype=bool)
    for position in picked:
        item = index[position]
        row = Row(item.manifest, item.line, {"id": item.id, "sentence": item.sentence, "file": item.path,
                                             "duration": item.duration})  # fmt: skip
        try:
            check_row(row, checks, ValidationReport(report.manifest))
        except BadRow as error:
            note_bad(report, row, str(error), errors if not skip else None)
            keep[position] = False
    return index if keep.all() else index.take(keep)


def stated_duration(record: dict | None) -> float | None:
    """The duration a row's record states, when it states a number."""
    stated = (record or {}).get("duration")
    return float(stated) if isinstance(stated, (int, float)) and not isinstance(stated, bool) else None


def note_bad(report: ValidationReport, row: Row, reason: str, errors: list[str] | None) -> None:
    """Count a bad row in ``report`` by the reason's first words; list it in ``errors`` when bad rows refuse."""
    if errors is not None:
        errors.append(f"{row.where}: {reason}")
    report.note(report.skipped, reason.split(":")[0], row.where, reason)


def check_row(row: Row, checks: Checks, report: ValidationReport) -> Item | None:
    """The :class:`Item` of ``row`` (its audio header read); None when a duration limit filters it, counted in
    ``report``. Raises :class:`BadRow` saying why it cannot be used."""
    if row.record is None:
        raise BadRow(row.problem)
    record = row.record
    missing = [key for key in checks.required_keys if key not in record]
    if missing:
        raise BadRow(f"missing key: {', '.join(missing)}")
    text = normalize(str(record["sentence"]), numbers=checks.numbers, drop=checks.drop)
    if not text:
        raise BadRow("empty sentence")
    file = audio_path(checks.audio_root, str(record["file"]))
    stated = stated_duration(record)
    if checks.trust_durations and stated is not None:
        return limited(row, checks, report, Item(str(record["id"]), text, file, stated, row.number,
                                                 str(record["sentence"]), row.origin))  # fmt: skip
    path = Path(file)
    if not audio_file(path).is_file():  # a shard's member (a sharded split's manifest): its shard
        raise BadRow(f"audio file missing: {path}")
    try:
        duration, rate, channels, promised = checks.cache.duration(path)
    except (RuntimeError, sf.LibsndfileError) as error:
        raise BadRow(f"audio unreadable: {path} ({error})") from None
    if duration <= 0:
        raise BadRow(f"audio empty: {path}")
    if promised > duration + 1e-3:
        raise BadRow(f"audio truncated: {path} holds {duration:.2f} s of the {promised:.2f} s its header declares")
    if stated is not None and abs(stated - duration) > DURATION_SLACK:
        raise BadRow(f"duration mismatch: the manifest says {stated:.2f} s, {path} holds {duration:.2f} s")
    report.resampled += rate != checks.sample_rate
    report.downmixed += channels > 1
    item = Item(str(record["id"]), text, file, duration, row.number, str(record["sentence"]), row.origin)
    return limited(row, checks, report, item)


def audio_path(root: Path, file: str) -> str:
    """``str(root / file)``, pathlib's spelling of it, with pathlib called once per folder rather than per row (a
    million rows live in a few hundred folders)."""
    name = file.rpartition("/")[2]
    if name in ("", ".", ".."):
        return str(root / file)
    base = folder_path(root, file[: len(file) - len(name)])
    return name if base == "." else base + name if base.endswith("/") else base + "/" + name


@lru_cache(maxsize=4096)
def folder_path(root: Path, folder: str) -> str:
    return str(root / folder)


def limited(row: Row, checks: Checks, report: ValidationReport, item: Item) -> Item | None:
    """``item``, or None (counted in ``report``) when it is outside the duration limits."""
    if checks.min_duration is not None and item.duration < checks.min_duration:
        report.note(report.filtered, f"shorter than {checks.min_duration}s", row.where)
        return None
    if checks.max_duration is not None and item.duration > checks.max_duration:
        report.note(report.filtered, f"longer than {checks.max_duration}s", row.where)
        return None
    return item


def bad_lines_message(manifest: str | Path, errors: list[str], shown: int = 20, skip: str = SKIP_IN_TRAINING) -> str:
    """Every bad line of a manifest in one message (the first ``shown``), with the way to skip them."""
    more = f"\n  … and {len(errors) - shown} more" if len(errors) > shown else ""
    return (
        f"{manifest}: {len(errors)} bad line{'s' if len(errors) > 1 else ''}:\n  " + "\n  ".join(errors[:shown]) + more
        + f"\nFix them, or skip them with {skip}"
    )  # fmt: skip
