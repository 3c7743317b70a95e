"""GigaSpeech 2 (SpeechColab), Vietnamese: ``data/vi/{train_refined,dev,test}.tsv`` (segment id, text; no header)
and each segment at ``SPLIT/<id's parts but the last>/<id>.wav``, the training TSVs' segments under ``train/``.
``train_raw.tsv`` (the unrefined labels of the same audio) is not prepared."""

from __future__ import annotations

from pathlib import Path

from vasr.prepare.layout import Options, Splits, first_folder, found, tsv_rows

SPLITS = ("train_refined", "dev", "test")
COLUMNS = ("id", "sentence")


def splits(src: Path, out: Path, options: Options) -> Splits:
    root = first_folder(src / "data" / "vi", src / "vi", src)
    found_splits = {}
    for split in SPLITS:
        if (root / f"{split}.tsv").is_file():
            audio = first_folder(root / split, root / split.split("_")[0])
            found_splits[split] = tsv_rows(root / f"{split}.tsv", COLUMNS, lambda fields, a=audio: record(fields, a))
    return found(found_splits, src, "train_refined.tsv, dev.tsv or test.tsv")


def record(fields: dict, audio: Path) -> dict:
    segment = fields["id"]
    path = audio.joinpath(*segment.split("-")[:-1]) / f"{segment}.wav"
    return {"id": segment, "sentence": fields["sentence"].strip(), "file": str(path)}
