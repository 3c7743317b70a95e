"""lhotse's CutSets (``cuts.jsonl.gz``) as they are: one cut a line, its recording and supervisions inside it."""

from __future__ import annotations

from vasr.data.sources.row import BadRow

CUT_TYPES = ("MonoCut", "MultiCut", "MixedCut", "PaddingCut", "Cut")
PARTS_MESSAGE = (
    "a lhotse RecordingSet or SupervisionSet, not a CutSet: make the cuts with "
    "CutSet.from_manifests(recordings=..., supervisions=...).to_file('cuts.jsonl.gz') and pass those"
)
TOLERANCE = 0.01  # seconds: lhotse rounds durations; a slice of a recording differs by more


def is_cut(line: dict) -> bool:
    return line.get("type") in CUT_TYPES or ("recording" in line and "supervisions" in line)


def is_part(line: dict) -> bool:
    """A line of a recordings manifest (``sources``) or of a supervisions manifest (``recording_id``)."""
    return "sources" in line or ("recording_id" in line and "start" in line)


def record(cut: dict) -> dict:
    """vasr's record of one cut: its recording's file, its one supervision's text (and speaker, language,
    gender). vasr reads whole files, so a cut that is a slice of its recording is refused."""
    try:
        return whole_file_record(cut)
    except BadRow:
        raise
    except KeyError as error:
        raise BadRow(f"missing key: {error.args[0]}") from None
    except (TypeError, ValueError, IndexError) as error:
        raise BadRow(f"not a lhotse cut: {error}") from None


def whole_file_record(cut: dict) -> dict:
    if "recording" not in cut:
        raise BadRow(f"{cut.get('type', 'cut')} without one recording: vasr reads one audio file a cut")
    recording = cut["recording"]
    sources = recording["sources"]
    if len(sources) != 1 or sources[0].get("type") != "file":
        kinds = ", ".join(str(source.get("type")) for source in sources) or "none"
        raise BadRow(f"recording {recording['id']} is not one audio file (sources: {kinds}): vasr reads files")
    path = sources[0]["source"]
    start, duration, whole = float(cut.get("start", 0.0)), float(cut["duration"]), float(recording["duration"])
    if start > TOLERANCE or abs(duration - whole) > TOLERANCE:
        raise BadRow(
            f"cut of {duration:.2f} s from {start:.2f} s of the {whole:.2f} s recording {path}: vasr reads whole"
            " files (write each cut's audio to a file, or keep cuts that span their recording)"
        )
    supervisions = cut["supervisions"]
    if len(supervisions) != 1:
        raise BadRow(f"{len(supervisions)} supervisions: vasr trains on one transcript a cut")
    supervision = supervisions[0]
    if "text" not in supervision:
        raise BadRow("missing key: supervisions[0].text")
    fields = {key: supervision[key] for key in ("speaker", "language", "gender") if supervision.get(key) is not None}
    return fields | {"id": str(cut["id"]), "sentence": supervision["text"], "file": path, "duration": duration}
