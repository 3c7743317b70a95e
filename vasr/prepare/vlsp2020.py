"""VLSP 2020 ASR: folders of ``NAME.wav`` beside ``NAME.txt`` (the transcript). Each top folder holding audio is
a split named after it; audio directly in the source folder is the ``train`` split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vasr.data.sources import Row
from vasr.data.sources.jsonl import text_lines
from vasr.prepare.layout import Options, Splits, found


def splits(src: Path, out: Path, options: Options) -> Splits:
    folders = {"train": src} if any(src.glob("*.wav")) else {}
    subfolders = (folder for folder in sorted(src.iterdir()) if folder.is_dir())
    folders |= {folder.name: folder for folder in subfolders if any(folder.rglob("*.wav"))}
    return found({name: rows(folder, recursive=folder != src) for name, folder in folders.items()}, src, ".wav files")


def rows(folder: Path, recursive: bool) -> Iterator[Row]:
    """One row per WAV (its transcript file's line 1); the id is its path in the split without the suffix."""
    for wav in sorted(folder.rglob("*.wav") if recursive else folder.glob("*.wav")):
        transcript = wav.with_suffix(".txt")
        if not transcript.is_file():
            yield Row(str(transcript), 1, problem=f"transcript missing: {transcript}")
            continue
        lines = list(text_lines(transcript))
        problem = next((why for _, line, why in lines if line is None), "")
        if problem:
            yield Row(str(transcript), 1, problem=problem)
            continue
        text = " ".join(line.strip() for _, line, _ in lines)
        uid = wav.relative_to(folder).with_suffix("").as_posix().replace("/", "_")
        yield Row(str(transcript), 1, {"id": uid, "sentence": text, "file": str(wav)})
