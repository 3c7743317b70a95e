"""FLEURS (Google), ``vi_vn``: ``{train,dev,test}.tsv`` without a header (id, file name, raw transcription,
normalised transcription, characters, number of samples, gender) and ``audio/{split}/*.wav`` (the hub's
layout), or lhotse's download (``metadata/vi_vn/{split}.tsv`` beside ``vi_vn/{split}/*.wav``)."""

from __future__ import annotations

from pathlib import Path

from vasr.prepare.layout import Options, Splits, first_folder, found, tsv_rows

SPLITS = ("train", "dev", "test")
COLUMNS = ("fleurs_id", "file", "raw_transcription", "transcription", "characters", "num_samples", "gender")
LANGUAGE = "vi_vn"


def splits(src: Path, out: Path, options: Options) -> Splits:
    root = first_folder(src / LANGUAGE, src)
    tables = first_folder(root.parent / "metadata" / root.name, root)  # lhotse keeps the TSVs apart
    found_splits = {}
    for split in SPLITS:
        if (tables / f"{split}.tsv").is_file():
            audio = first_folder(root / "audio" / split, root / split)
            found_splits[split] = tsv_rows(tables / f"{split}.tsv", COLUMNS, lambda fields, a=audio: record(fields, a))
    return found(found_splits, src, "train.tsv, dev.tsv or test.tsv")


def record(fields: dict, audio: Path) -> dict:
    """The file's name as the id (FLEURS's id names the sentence, which several speakers read), the raw
    transcription as the sentence; the normalised one, gender and sample count kept."""
    return {
        "id": Path(fields["file"]).stem,
        "sentence": fields["raw_transcription"],
        "file": str(audio / fields["file"]),
        **{key: fields[key] for key in ("fleurs_id", "transcription", "gender", "num_samples")},
    }
