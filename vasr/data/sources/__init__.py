"""Where a manifest's rows come from, chosen by the manifest itself: vasr's JSON lines, NeMo's, lhotse's CutSets
(plain or gzip), Hugging Face tables (a Parquet/Arrow file or folder, or ``hf://datasets/...``). Every source
yields the same :class:`Row`; :mod:`vasr.data.manifest` validates them all alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from vasr.data.sources.hub import hub_files, is_hub
from vasr.data.sources.jsonl import detect, json_rows, spans
from vasr.data.sources.row import BadRow, ManifestError, Row
from vasr.data.sources.tables import extraction_folder, is_table, table_files, table_rows

__all__ = ["BadRow", "ManifestError", "Row", "Source", "open_source"]


@dataclass(frozen=True)
class Source:
    """A manifest found and recognised: its name for reports, its format, the folder its relative audio paths
    start from, and its rows (read when called, one at a time); ``lines``: a plain JSON-lines file, which separate
    processes can read in pieces."""

    name: str
    kind: str
    root: Path
    rows: Callable[[], Iterator[Row]]
    lines: Path | None = None

    def pieces(self, count: int) -> list[Callable[[], Iterator[Row]]]:
        """The rows as up to ``count`` runs in order, each read on its own (one run but for plain JSON lines)."""
        if count < 2 or self.lines is None:
            return [self.rows]
        return [partial(json_rows, self.lines, self.kind, span) for span in spans(self.lines, count)]


def open_source(manifest: str | Path) -> Source:
    """The source of ``manifest``: a hub URL, a table or a folder of tables, else JSON lines by their first object."""
    name = str(manifest)
    if is_hub(name):
        files = hub_files(name)
        return Source(name, "table", files[0].parent, partial(table_rows, files, extraction_folder(files[0].parent)))
    path = Path(manifest)
    if not path.exists():
        raise ManifestError(f"{path}: manifest not found")
    if is_table(path):
        root = path if path.is_dir() else path.parent
        return Source(name, "table", root, partial(table_rows, table_files(path), extraction_folder(path)))
    if path.is_dir():
        raise ManifestError(f"{path}: a folder without Parquet or Arrow tables; name the manifest file")
    kind = detect(path)
    plain = path if path.suffix != ".gz" else None
    return Source(name, kind, path.parent, partial(json_rows, path, kind), plain)
