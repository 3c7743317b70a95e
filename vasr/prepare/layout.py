"""What the corpus modules share: their options, the rows of a TSV file, and the refusal of a folder in
another layout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vasr.data.sources import ManifestError, Row
from vasr.data.sources.jsonl import text_lines


@dataclass(frozen=True)
class Options:
    """Per-corpus settings of ``vasr-prepare``: the audio folder of a SoICT manifest, a table's columns."""

    audio_dir: Path | None = None
    audio_column: str | None = None
    text_column: str | None = None


Splits = dict[str, Iterator[Row]]
Recipe = Callable[[Path, Path, Options], Splits]


def first_folder(*candidates: Path) -> Path:
    """The first existing folder of ``candidates`` (a corpus unpacked with or without its top folders)."""
    return next((folder for folder in candidates if folder.is_dir()), candidates[-1])


def found(splits: Splits, src: Path, expected: str) -> Splits:
    """``splits``, or a clear refusal when ``src`` holds none of them."""
    if not splits:
        raise ManifestError(f"{src}: no {expected} found: not this corpus's layout")
    return splits


def tsv_rows(path: Path, columns: tuple[str, ...] | None, make: Callable[[dict], dict]) -> Iterator[Row]:
    """Each line of a tab-separated file as ``make``'s record of its fields named by ``columns`` (by the first
    line, a header, when None). Fields are split on tabs only: these corpora do not quote."""
    for number, line, problem in text_lines(path):
        if line is None:
            yield Row(str(path), number, problem=problem)
            continue
        values = line.split("\t")
        if columns is None:
            columns = tuple(values)
            continue
        if len(values) != len(columns):
            yield Row(str(path), number, problem=f"{len(values)} fields, not the {len(columns)} of {columns}")
            continue
        yield Row(str(path), number, make(dict(zip(columns, values, strict=True))))
