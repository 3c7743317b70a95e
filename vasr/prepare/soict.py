"""SoICT 2023 SLU, vasr's own format: JSON lines (``id``, ``sentence``, ``intent``, ``sentence_annotation``,
``entities``, ``file``). A manifest file, or a folder of them (each a split named after it); audio relative to
``--audio-dir`` (default: the manifest's folder). Written again with absolute paths and durations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vasr.data.sources import Row
from vasr.data.sources.jsonl import json_rows
from vasr.prepare.layout import Options, Splits, found


def splits(src: Path, out: Path, options: Options) -> Splits:
    manifests = sorted(src.glob("*.jsonl")) if src.is_dir() else [src] if src.is_file() else []
    return found(
        {path.stem: rows(path, options.audio_dir or path.parent) for path in manifests}, src, "JSON-lines manifests"
    )


def rows(manifest: Path, audio_dir: Path) -> Iterator[Row]:
    for row in json_rows(manifest, "vasr"):
        if row.record is not None and "file" in row.record:
            row = Row(row.origin, row.number, row.record | {"file": str(audio_dir / str(row.record["file"]))})
        yield row
