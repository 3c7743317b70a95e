"""JSON-lines manifests, plain or gzip: vasr's own, NeMo's and lhotse's CutSets, told apart by their first object."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO, NamedTuple

import orjson

from vasr.data.sources import lhotse, nemo
from vasr.data.sources.row import BadRow, ManifestError, Row

Mapper = Callable[[dict], dict]
# How each format's object becomes vasr's record: vasr's own is taken as it is (validation names its missing keys).
FORMATS: dict[str, Mapper] = {"vasr": dict, "nemo": nemo.record, "lhotse": lhotse.record}


class Span(NamedTuple):
    """The lines of a file that start at byte ``start`` up to byte ``end`` (None: the end), the first numbered
    ``first_line``."""

    start: int = 0
    end: int | None = None
    first_line: int = 1


WHOLE = Span()


def text_lines(path: Path, span: Span = WHOLE) -> Iterator[tuple[int, str | None, str]]:
    """(line number, the line without its line break, "") for each non-blank line of a UTF-8 text file, plain or
    gzip (of the lines ``span`` holds); (line number, None, why) for a line that is not UTF-8. A leading byte-order
    mark is dropped."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            handle.seek(span.start)
            lines = handle if span.end is None else lines_within(handle, span.end - span.start)
            for number, raw in enumerate(lines, start=span.first_line):
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
                except UnicodeDecodeError as error:
                    yield number, None, f"not UTF-8: byte {error.start} of the line"
                    continue
                if line.strip():
                    yield number, line, ""
    except (gzip.BadGzipFile, EOFError, OSError) as error:  # a damaged archive cannot be read past the damage
        raise ManifestError(f"{path}: unreadable: {error}") from None


def lines_within(handle: BinaryIO, size: int) -> Iterator[bytes]:
    """The lines of ``handle`` from where it stands that start within the next ``size`` bytes."""
    for raw in handle:
        yield raw
        size -= len(raw)
        if size <= 0:
            return


def spans(path: Path, pieces: int) -> list[Span]:
    """``path`` cut into about ``pieces`` runs of whole lines of about equal size, each knowing its first line's
    number (the line breaks before it counted, a few MB at a time): what reading processes share out."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        for k in range(1, pieces):
            handle.seek(max(size * k // pieces, cuts[-1]))
            if handle.tell() > 0:
                handle.readline()  # to the start of the next line
            if handle.tell() < size and handle.tell() > cuts[-1]:
                cuts.append(handle.tell())
        firsts, seen, handle_at = [1], 1, 0
        handle.seek(0)
        for cut in cuts[1:]:
            while handle_at < cut:
                block = handle.read(min(1 << 24, cut - handle_at))
                seen += block.count(b"\n")
                handle_at += len(block)
            firsts.append(seen)
    return [Span(start, end, first) for start, end, first in zip(cuts, [*cuts[1:], None], firsts, strict=True)]


def json_objects(path: Path, span: Span = WHOLE) -> Iterator[tuple[int, dict | None, str]]:
    """(line number, object, "") for each non-blank line, or (line number, None, why it is not an object)."""
    for number, line, problem in text_lines(path, span):
        if line is None:
            yield number, None, problem
            continue
        try:
            value = orjson.loads(line)  # a quarter of json's time, on manifests of millions of lines
            if isinstance(value, dict) and any(type(v) is float and abs(v) >= 2**63 for v in value.values()):
                value = json.loads(line)  # orjson reads an integer past 64 bits (an id) as a float, json exactly
        except orjson.JSONDecodeError:
            try:  # the standard parser has the last word: orjson refuses NaN, and json's message names the column
                value = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, None, f"not JSON: {error.msg} at column {error.colno}"
                continue
        yield (number, value, "") if isinstance(value, dict) else (number, None, "not a JSON object")


def detect(path: Path, lines: int = 100) -> str:
    """The format of ``path`` by its first JSON object (vasr's when none of the first ``lines`` is one)."""
    first = next((value for _, value, _ in islice(json_objects(path), lines) if value is not None), {})
    if "audio_filepath" in first:
        return "nemo"
    if lhotse.is_cut(first):
        return "lhotse"
    if lhotse.is_part(first):
        raise ManifestError(f"{path}: {lhotse.PARTS_MESSAGE}")
    return "vasr"


def json_rows(path: Path, kind: str, span: Span = WHOLE) -> Iterator[Row]:
    """Each line of ``path`` (of ``span``) as vasr's record (``kind``: a key of ``FORMATS``), or why it cannot be
    one."""
    mapper = FORMATS[kind]
    for number, value, problem in json_objects(path, span):
        if value is None:
            yield Row(str(path), number, problem=problem)
            continue
        try:
            yield Row(str(path), number, mapper(value))
        except BadRow as error:
            yield Row(str(path), number, problem=str(error))
