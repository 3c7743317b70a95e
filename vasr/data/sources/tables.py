"""Hugging Face datasets as files: Parquet (the hub's format) or Arrow (``save_to_disk``) tables with an audio column.

vasr reads audio from files, so each row's encoded audio (the ``bytes`` of a ``datasets.Audio`` cell) is written
once, as it is, into a folder beside the rows' records; a cell that only names a path is read from that path.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vasr.data.sources.row import BadRow, ManifestError, Row

TEXT_COLUMNS = ("sentence", "transcription", "text", "raw_transcription", "normalized_text")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus")
MAGIC = {b"RIFF": ".wav", b"fLaC": ".flac", b"OggS": ".ogg", b"ID3": ".mp3", b"\xff\xfb": ".mp3", b"\xff\xf3": ".mp3"}
BATCH_ROWS = 64  # rows decoded at a time: a shard of long recordings never sits in memory whole


def is_table(path: Path) -> bool:
    """A Parquet/Arrow file, or a folder holding some."""
    return path.suffix in (".parquet", ".arrow") if path.is_file() else path.is_dir() and bool(table_files(path))


def table_files(path: Path) -> list[Path]:
    """``path`` itself, or the tables under the folder ``path`` in name order (not ``datasets``' cache files)."""
    if path.is_file():
        return [path]
    found = [*path.rglob("*.parquet"), *path.rglob("*.arrow")]
    return sorted(file for file in found if not file.name.startswith("cache-"))


def extraction_folder(path: Path) -> Path:
    """Where the audio of the tables at ``path`` is written when training reads them directly: one folder per
    table path under ``$XDG_CACHE_HOME/vasr`` (the data folder may be read-only)."""
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vasr"
    return root / f"audio-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]}"


def batches(file: Path) -> Iterator[pa.RecordBatch]:
    """The rows of ``file`` a few at a time."""
    try:
        if file.suffix == ".parquet":
            yield from pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS)
            return
        with pa.memory_map(str(file)) as source:
            yield from arrow_table(source).to_batches(max_chunksize=BATCH_ROWS)
    except (pa.ArrowException, OSError) as error:
        raise ManifestError(f"{file}: not a readable table: {error}") from None


def arrow_table(source: pa.MemoryMappedFile) -> pa.Table:
    """An Arrow file in the stream format ``datasets.save_to_disk`` writes, or in the random-access file format
    (memory-mapped: the audio is not copied)."""
    try:
        return pa.ipc.open_stream(source).read_all()
    except pa.ArrowInvalid:
        source.seek(0)
        return pa.ipc.open_file(source).read_all()


def columns(schema: pa.Schema, file: Path, audio: str | None, text: str | None) -> tuple[str, str]:
    """The audio and text columns: as named, else ``audio`` or the first ``datasets.Audio``-like struct column,
    and the first of ``TEXT_COLUMNS``."""
    names = schema.names
    audio = audio or next(
        (f.name for f in schema if f.name == "audio"),
        next((f.name for f in schema if pa.types.is_struct(f.type) and f.type.get_field_index("bytes") >= 0), None),
    )
    text = text or next((name for name in TEXT_COLUMNS if name in names), None)
    for role, name in (("audio", audio), ("text", text)):
        if name is None or name not in names:
            raise ManifestError(f"{file}: no {role} column{f' {name!r}' if name else ''} (columns: {', '.join(names)})")
    return audio, text


def table_rows(
    files: list[Path], audio_out: Path, audio_column: str | None = None, text_column: str | None = None
) -> Iterator[Row]:
    """Each row of the tables ``files`` as vasr's record, its audio written into ``audio_out`` when the table
    holds it; numbered from 1 within each file."""
    for file in files:
        number = 0
        for batch in batches(file):
            audio, text = columns(batch.schema, file, audio_column, text_column)
            for values in batch.to_pylist():
                number += 1
                try:
                    yield Row(str(file), number, table_record(values, file, number, audio, text, audio_out))
                except BadRow as error:
                    yield Row(str(file), number, problem=str(error))


def table_record(values: dict, file: Path, number: int, audio: str, text: str, audio_out: Path) -> dict:
    """vasr's record of one row: its id (the ``id`` column, else the table's name and row), text, audio file and
    the row's other plain fields."""
    uid = str(values["id"]) if values.get("id") is not None else f"{file.stem}-{number:06d}"
    cell = values[audio]
    if not isinstance(cell, dict) or not (cell.get("bytes") or cell.get("path")):
        raise BadRow(f"audio missing: the {audio!r} cell holds no bytes and no path")
    if cell.get("bytes"):
        target = audio_out / (re.sub(r"[^\w.-]", "_", uid) + audio_suffix(cell))
        if not (target.is_file() and target.stat().st_size == len(cell["bytes"])):  # written by an earlier run
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(cell["bytes"])
    else:
        target = file.parent / cell["path"]
    plain = (str, int, float, bool)
    fields = {key: value for key, value in values.items() if key not in (audio, text) and isinstance(value, plain)}
    if cell.get("path"):
        fields["audio_path"] = cell["path"]
    return fields | {"id": uid, "sentence": "" if values[text] is None else values[text], "file": str(target)}


def audio_suffix(cell: dict) -> str:
    """The cell's file suffix: from its path when that names an audio file, else from the bytes' magic number."""
    suffix = Path(cell.get("path") or "").suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return suffix
    head = cell["bytes"][:4]
    return next((ext for magic, ext in MAGIC.items() if head.startswith(magic)), ".audio")
