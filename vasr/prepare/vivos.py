"""VIVOS (AILAB, VNU-HCM): ``{train,test}/prompts.txt`` (``ID TEXT`` a line), ``waves/SPEAKER/ID.wav`` and
``genders.txt`` (``SPEAKER m|f``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vasr.data.sources import Row
from vasr.data.sources.jsonl import text_lines
from vasr.prepare.layout import Options, Splits, first_folder, found

SPLITS = ("train", "test")


def splits(src: Path, out: Path, options: Options) -> Splits:
    root = first_folder(src / "vivos", src)
    return found({s: rows(root / s) for s in SPLITS if (root / s / "prompts.txt").is_file()}, src, "prompts.txt")


def rows(folder: Path) -> Iterator[Row]:
    genders = speaker_genders(folder / "genders.txt")
    prompts = folder / "prompts.txt"
    for number, line, problem in text_lines(prompts):
        if line is None:
            yield Row(str(prompts), number, problem=problem)
            continue
        uid, _, text = line.strip().partition(" ")
        speaker = uid.split("_")[0]
        record = {"id": uid, "sentence": text.strip(), "file": str(folder / "waves" / speaker / f"{uid}.wav")}
        record["speaker"] = speaker
        if speaker in genders:
            record["gender"] = genders[speaker]
        yield Row(str(prompts), number, record)


def speaker_genders(path: Path) -> dict[str, str]:
    """``genders.txt`` as {speaker: m|f}; empty when the file is absent."""
    if not path.is_file():
        return {}
    pairs = (line.split() for _, line, _ in text_lines(path) if line)
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}
