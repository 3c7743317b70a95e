"""Common Voice (Mozilla), Vietnamese: ``{train,dev,test}.tsv`` with a header (``client_id``, ``path``,
``sentence``, ``up_votes``, ..., ``gender``, ``accents``, ``locale``) and 48 kHz MP3s in ``clips/``."""

from __future__ import annotations

from pathlib import Path

from vasr.prepare.layout import Options, Splits, first_folder, found, tsv_rows

SPLITS = ("train", "dev", "test")


def splits(src: Path, out: Path, options: Options) -> Splits:
    root = first_folder(src / "vi", src)
    tables = {s: root / f"{s}.tsv" for s in SPLITS}
    clips = root / "clips"
    return found(
        {s: tsv_rows(path, None, lambda fields: record(fields, clips)) for s, path in tables.items() if path.is_file()},
        src,
        "train.tsv, dev.tsv or test.tsv",
    )


def record(fields: dict, clips: Path) -> dict:
    """The clip's name (no extension) as its id, the contributor as its speaker, the other non-empty fields kept."""
    name = fields.get("path", "")
    kept = {key: value for key, value in fields.items() if value and key not in ("path", "sentence", "client_id")}
    speaker = {"speaker": fields["client_id"]} if fields.get("client_id") else {}
    return kept | speaker | {"id": Path(name).stem, "sentence": fields.get("sentence", ""), "file": str(clips / name)}
