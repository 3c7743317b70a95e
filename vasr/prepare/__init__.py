"""Public corpora in their own layouts written as vasr manifests: ``OUT/<split>.jsonl``, one utterance a line
(``id``, ``sentence`` as the corpus writes it, absolute ``file``, ``duration``, ``speaker`` where known, and the
corpus's own fields). Every row passes the checks training makes (:func:`vasr.data.manifest.check_row`), so a
bad row is named here, once, rather than at every run. One module per corpus layout, as lhotse's recipes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from vasr.audio import DurationCache
from vasr.data.manifest import Checks, ManifestError, ValidationReport, bad_lines_message, check_row, note_bad
from vasr.data.sources import BadRow, Row
from vasr.prepare import common_voice, fleurs, gigaspeech2, hub_tables, soict, vivos, vlsp2020
from vasr.prepare.layout import Options, Recipe

log = logging.getLogger("vasr")
CORPORA: dict[str, Recipe] = {
    "vivos": vivos.splits,
    "common_voice": common_voice.splits,
    "fleurs": fleurs.splits,
    "vlsp2020": vlsp2020.splits,
    "gigaspeech2": gigaspeech2.splits,
    "lsvsc": hub_tables.splits,
    "bud500": hub_tables.splits,
    "soict": soict.splits,
}
REPORT = "prepare.json"
SKIP = f"--skip-bad (each is counted in OUT/{REPORT})"
FIRST = ("id", "sentence", "file", "duration")


def prepare(
    corpus: str,
    src: str | Path,
    out: str | Path,
    options: Options | None = None,
    skip_bad: bool = False,
    every: int = 10000,
) -> dict[str, ValidationReport]:
    """Write ``out/<split>.jsonl`` for each split of ``corpus`` at ``src``, and the reports to ``out/prepare.json``.

    A bad row (unreadable line, empty text, missing or unreadable audio, duplicate id) is counted when
    ``skip_bad``; otherwise every one is listed in one :class:`ManifestError` and no manifest is written.
    """
    if corpus not in CORPORA:
        raise ValueError(f"unknown corpus {corpus!r}: one of {', '.join(CORPORA)}")
    src, out = Path(src).resolve(), Path(out).resolve()  # the manifests hold absolute paths
    if not src.exists():
        raise ManifestError(f"{src}: corpus not found")
    out.mkdir(parents=True, exist_ok=True)
    checks = Checks(src, DurationCache(DurationCache.default_file(src)))
    reports: dict[str, ValidationReport] = {}
    errors: list[str] = []
    written: list[Path] = []
    try:
        for split, rows in CORPORA[corpus](src, out, options or Options()).items():
            written.append(out / f"{split}.jsonl.tmp")
            reports[split], bad = write_split(rows, written[-1], checks, f"{corpus} {split}", skip_bad, every)
            errors += [bad_lines_message(f"{corpus} {split}", bad, skip=SKIP)] if bad else []
        if errors:
            raise ManifestError("\n".join(errors))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    finally:
        checks.cache.save()
    for path in written:
        path.replace(path.with_suffix(""))
    summary = {split: report.to_dict() for split, report in reports.items()}
    (out / REPORT).write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return reports


def write_split(
    rows: Iterator[Row], path: Path, checks: Checks, name: str, skip_bad: bool, every: int
) -> tuple[ValidationReport, list[str]]:
    """Check each row and write the good ones to ``path``; the report, and the bad rows when they refuse."""
    report = ValidationReport(name)
    errors: list[str] = []
    seen: set[str] = set()
    with path.open("w", encoding="utf-8") as handle:
        for count, row in enumerate(rows, start=1):
            try:
                item = check_row(row, checks, report)  # no duration limits: never None
                if item.id in seen:
                    raise BadRow(f"duplicate id: {item.id}")
            except BadRow as error:
                note_bad(report, row, str(error), None if skip_bad else errors)
                continue
            seen.add(item.id)
            line = {"id": item.id, "sentence": row.record["sentence"], "file": item.path, "duration": item.duration}
            line |= {key: value for key, value in row.record.items() if key not in FIRST}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            report.kept += 1
            if count % every == 0:
                log.info("%s: %d rows read, %d kept", name, count, report.kept)
    log.info("%s", report.summary())
    return report, errors
