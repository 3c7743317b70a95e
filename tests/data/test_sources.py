"""The ecosystem's manifests read as they are by ``read_manifest``: NeMo JSON lines, lhotse CutSets, Hugging Face
tables; the same items and the same ``file:line`` errors as vasr's own manifests."""

import gzip
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from vasr.data.manifest import ManifestError, read_manifest
from vasr.data.sources.jsonl import Span, spans, text_lines
from vasr.text import normalize


@pytest.fixture
def demo(corpus, tmp_path) -> list[dict]:
    """Four demo utterances with their audio copied under tmp_path/audio/."""
    shutil.copytree(corpus / "audio", tmp_path / "audio")
    lines = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[:4]
    return [json.loads(line) for line in lines]


def write_lines(path, objects) -> str:
    text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def nemo(record: dict, root) -> dict:
    path = root / "audio" / record["file"]
    return {"audio_filepath": f"audio/{record['file']}", "text": record["sentence"], "duration": sf.info(path).duration}


def test_a_nemo_manifest_reads_with_paths_relative_to_its_folder(demo, tmp_path):
    manifest = write_lines(tmp_path / "train_manifest.json", [nemo(r, tmp_path) for r in demo])
    items, report = read_manifest(manifest)
    assert report.kept == 4 and [i.id for i in items] == [f"audio/{r['file']}" for r in demo]
    assert [i.text for i in items] == [normalize(r["sentence"]) for r in demo]
    assert items[0].path == str(tmp_path / "audio" / demo[0]["file"]) and items[1].where == f"{manifest}:2"


def test_nemo_segments_and_missing_keys_are_named_by_line(demo, tmp_path):
    lines = [nemo(r, tmp_path) for r in demo]
    lines[1]["offset"] = 1.5  # a segment of a longer file
    lines[2]["duration"] /= 2  # ... or cut short without an offset
    del lines[3]["text"]
    with pytest.raises(ManifestError) as error:
        read_manifest(write_lines(tmp_path / "m.json", lines))
    message = str(error.value)
    assert "m.json:2: segment at 1.5 s of audio/" in message and "m.json:3: duration mismatch" in message
    assert "m.json:4: missing key: text" in message


def cut(record: dict, root, **change) -> dict:
    """A lhotse MonoCut as ``CutSet.to_file`` writes it: the recording whole, one supervision."""
    path = str(root / "audio" / record["file"])
    info = sf.info(path)
    recording = {
        "id": record["id"],
        "sources": [{"type": "file", "channels": [0], "source": path}],
        "sampling_rate": info.samplerate,
        "num_samples": info.frames,
        "duration": info.duration,
        "channel_ids": [0],
    }
    supervision = {"id": record["id"], "recording_id": record["id"], "start": 0.0, "duration": info.duration}
    supervision |= {"channel": 0, "text": record["sentence"], "language": "Vietnamese", "speaker": "spk1"}
    cut = {"id": f"{record['id']}-0", "start": 0.0, "duration": info.duration, "channel": 0}
    return cut | {"supervisions": [supervision], "recording": recording, "type": "MonoCut"} | change


def test_a_lhotse_cutset_reads_from_its_gzip_jsonl(demo, tmp_path):
    items, report = read_manifest(write_lines(tmp_path / "cuts.jsonl.gz", [cut(r, tmp_path) for r in demo]))
    assert report.kept == 4 and items[0].id == f"{demo[0]['id']}-0"
    assert items[0].path == str(tmp_path / "audio" / demo[0]["file"]) and items[0].sentence == demo[0]["sentence"]


def test_lhotse_cuts_vasr_cannot_read_whole_are_refused_by_line(demo, tmp_path):
    lines = [cut(r, tmp_path) for r in demo]
    lines[1] = cut(demo[1], tmp_path, start=0.5, duration=lines[1]["duration"] - 0.5)
    lines[2] = {"id": "mix", "tracks": [], "type": "MixedCut"}
    lines[3]["supervisions"] = lines[3]["supervisions"] * 2
    manifest = write_lines(tmp_path / "cuts.jsonl", lines)
    with pytest.raises(ManifestError) as error:
        read_manifest(manifest)
    message = str(error.value)
    assert "cuts.jsonl:2: cut of" in message and "vasr reads whole files" in message
    assert "cuts.jsonl:3: MixedCut without one recording" in message
    assert "cuts.jsonl:4: 2 supervisions" in message
    items, report = read_manifest(manifest, skip_bad=True)
    assert len(items) == 1 and sum(report.skipped.values()) == 3


def test_a_lhotse_recording_set_is_refused_with_the_way_to_make_cuts(demo, tmp_path):
    manifest = write_lines(tmp_path / "recordings.jsonl.gz", [cut(r, tmp_path)["recording"] for r in demo])
    with pytest.raises(ManifestError, match="not a CutSet: make the cuts with CutSet.from_manifests"):
        read_manifest(manifest)


def test_a_parquet_table_with_an_audio_column_reads_directly(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    audio = [{"bytes": (tmp_path / "audio" / r["file"]).read_bytes(), "path": r["file"]} for r in demo]
    sentences = [r["sentence"] for r in demo[:3]] + [" ?! "]
    audio_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({"id": [r["id"] for r in demo], "audio": pa.array(audio, audio_type), "sentence": sentences})
    pq.write_table(table, tmp_path / "test.parquet")
    with pytest.raises(ManifestError, match=r"test.parquet:4: empty sentence"):
        read_manifest(tmp_path / "test.parquet")
    items, report = read_manifest(tmp_path / "test.parquet", skip_bad=True)
    assert [i.id for i in items] == [r["id"] for r in demo[:3]] and report.skipped == {"empty sentence": 1}
    assert items[0].path.startswith(str(tmp_path / "cache" / "vasr")) and items[0].path.endswith(demo[0]["file"])
    assert items[0].duration == pytest.approx(sf.info(tmp_path / "audio" / demo[0]["file"]).duration)


def test_a_saved_dataset_folder_of_arrow_files_reads_directly(demo, tmp_path, monkeypatch):
    """``datasets.save_to_disk``'s layout: Arrow stream files beside JSON state; audio given by path only."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "state.json").write_text("{}", encoding="utf-8")
    audio = [{"bytes": None, "path": str(tmp_path / "audio" / r["file"])} for r in demo]
    table = pa.table({"audio": audio, "transcription": [r["sentence"] for r in demo]})
    with pa.ipc.new_stream(saved / "data-00000-of-00001.arrow", table.schema) as writer:
        writer.write_table(table)
    items, report = read_manifest(saved)
    assert report.kept == 4 and items[3].where == f"{saved / 'data-00000-of-00001.arrow'}:4"
    assert [i.path for i in items] == [a["path"] for a in audio]  # read where they are: nothing written
    assert not list((tmp_path / "cache" / "vasr").glob("audio-*"))


def test_a_hub_dataset_that_cannot_be_fetched_is_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ManifestError, match="hf://datasets/vasr-tests/absent/data/test-.*: the hub dataset cannot be"):
        read_manifest("hf://datasets/vasr-tests/absent/data/test-*.parquet")


def test_a_folder_without_tables_and_a_missing_manifest_are_refused(tmp_path):
    with pytest.raises(ManifestError, match="a folder without Parquet or Arrow tables"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(tmp_path / "nowhere.jsonl")


def test_lines_orjson_refuses_are_parsed_or_refused_as_json_does(tmp_path):
    """orjson reads the lines; where it refuses one, json decides, so the values and the errors are json's."""
    from vasr.data.sources.jsonl import json_objects

    path = tmp_path / "m.jsonl"
    path.write_text('{"id": 123456789012345678901234567890}\n{"d": NaN}\n{"a": 1,}\n{"ok": "bật"}\n', encoding="utf-8")
    found = list(json_objects(path))
    assert found[0] == (1, {"id": 123456789012345678901234567890}, "")
    assert found[1][0] == 2 and found[1][1]["d"] != found[1][1]["d"]  # NaN, as json reads it
    assert found[2] == (3, None, "not JSON: Expecting property name enclosed in double quotes at column 9")
    assert found[3] == (4, {"ok": "bật"}, "")


@pytest.mark.parametrize("pieces", [1, 2, 3, 8, 50])
def test_spans_hold_every_line_once_with_its_number(tmp_path, pieces):
    """However a file is cut, the pieces' lines are the file's, in order, numbered as in the file: a line longer
    than a piece, blank lines, a last line without its line break."""
    lines = ["a" * 300, "", "b", *(f"line {k}" for k in range(40)), "c" * 90, "", "last"]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines))
    read = [(number, line) for span in spans(path, pieces) for number, line, _ in text_lines(path, span)]
    assert read == [(number, line) for number, line in enumerate(lines, 1) if line]
    assert len(spans(path, pieces)) <= pieces
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    assert spans(empty, 4) == [Span()]
