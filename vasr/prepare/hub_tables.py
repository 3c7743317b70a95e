"""LSVSC and Bud500 as the hub keeps them: Parquet files named ``SPLIT-NNNNN-of-NNNNN.parquet`` with a
``datasets.Audio`` column (``audio``) and a text column (``transcription``). The audio is written into
``OUT/audio/SPLIT/`` as it is stored (vasr reads files), the rows' other columns kept."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from vasr.data.sources.tables import table_files, table_rows
from vasr.prepare.layout import Options, Splits, found


def splits(src: Path, out: Path, options: Options) -> Splits:
    tables: dict[str, list[Path]] = defaultdict(list)
    for file in table_files(src):
        tables[file.name.split("-")[0] if "-" in file.name else file.stem].append(file)
    audio, text = options.audio_column or "audio", options.text_column or "transcription"
    return found(
        {split: table_rows(files, out / "audio" / split, audio, text) for split, files in tables.items()},
        src,
        "Parquet or Arrow tables",
    )
