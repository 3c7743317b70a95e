"""NeMo's ASR manifests: ``{"audio_filepath", "text", "duration"}`` a line, paths relative to the manifest's folder."""

from __future__ import annotations

from vasr.data.sources.row import BadRow

KEYS = ("audio_filepath", "text")


def record(line: dict) -> dict:
    """vasr's record of one NeMo line; its other fields kept. Segments of longer files are refused: vasr reads
    whole files."""
    missing = [key for key in KEYS if key not in line]
    if missing:
        raise BadRow(f"missing key: {', '.join(missing)}")
    if line.get("offset"):
        raise BadRow(
            f"segment at {line['offset']} s of {line['audio_filepath']}: vasr reads whole files (cut the segments"
            " into files first)"
        )
    fields = {key: value for key, value in line.items() if key not in (*KEYS, "offset")}
    # NeMo lines have no id; the path as written is unique where a file stem may not be.
    uid = str(line.get("id", line["audio_filepath"]))
    return fields | {"id": uid, "sentence": line["text"], "file": line["audio_filepath"]}
