import gzip
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vasr.data.manifest import ManifestError, audio_path, read_manifest


def copy_corpus(corpus, tmp_path, n=3):
    """A manifest of the first n lines of the session corpus, audio copied, editable by the test."""
    shutil.copytree(corpus / "audio", tmp_path / "audio")
    records = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[:n]]
    return records


def write(tmp_path, lines: list[str | bytes]) -> str:
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return str(path)


def dump(record) -> str:
    return json.dumps(record, ensure_ascii=False)


def test_good_manifest_reads_durations_from_headers(corpus):
    items, report = read_manifest(corpus / "manifest.jsonl", corpus / "audio")
    assert report.kept == len(items) == 24 and not report.skipped
    first = items[0]
    assert first.duration == pytest.approx(sf.info(first.path).duration)
    assert first.text == first.text.lower() and first.line == 1


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "not JSON"),
        ('["a list"]', "not a JSON object"),
        ('{"id": "x", "file": "a.wav"}', "missing key: sentence"),
        ('{"id": "x", "sentence": " ?! ", "file": "a.wav"}', "empty sentence"),
        ('{"id": "x", "sentence": "bật đèn", "file": "nowhere.wav"}', "audio file missing"),
        (b'{"id": "x", "sentence": "b\xe1t", "file": "a.wav"}', "not UTF-8"),
    ],
)
def test_bad_line_names_file_and_line(corpus, tmp_path, bad_line, message):
    records = copy_corpus(corpus, tmp_path)
    path = write(tmp_path, [dump(records[0]), bad_line, dump(records[1])])
    with pytest.raises(ManifestError, match=rf"manifest.jsonl:2: {message}"):
        read_manifest(path, tmp_path / "audio")


def test_skip_reports_counts_by_reason(corpus, tmp_path):
    records = copy_corpus(corpus, tmp_path)
    path = write(tmp_path, [dump(records[0]), "{oops", "{oops", '{"id": 1}', dump(records[1])])
    items, report = read_manifest(path, tmp_path / "audio", skip_bad=True)
    assert [i.id for i in items] == [records[0]["id"], records[1]["id"]]
    assert report.skipped == {"not JSON": 2, "missing key": 1}
    assert report.examples[0].startswith(f"{path}:2: not JSON: Expecting property name")
    assert "skipped 2 not JSON, 1 missing key" in report.summary()


def test_unreadable_and_empty_audio(corpus, tmp_path):
    records = copy_corpus(corpus, tmp_path)
    (tmp_path / "audio" / "junk.wav").write_bytes(b"this is not audio at all")
    sf.write(tmp_path / "audio" / "empty.wav", np.zeros(0, np.float32), 16000)
    wav = (tmp_path / "audio" / records[0]["file"]).read_bytes()
    (tmp_path / "audio" / "cut.wav").write_bytes(wav[:30])  # truncated inside the header
    (tmp_path / "audio" / "half.wav").write_bytes(wav[: len(wav) // 2])  # truncated inside the audio
    lines = [dump({**records[0], "file": name}) for name in ("junk.wav", "empty.wav", "cut.wav", "half.wav")]
    with pytest.raises(ManifestError, match=r"manifest.jsonl:1: audio unreadable: .*junk.wav"):
        read_manifest(write(tmp_path, lines), tmp_path / "audio")
    items, report = read_manifest(write(tmp_path, lines), tmp_path / "audio", skip_bad=True)
    assert not items and report.skipped == {"audio unreadable": 2, "audio empty": 1, "audio truncated": 1}
    assert any("half.wav holds" in example for example in report.examples)


def test_duration_filter_is_counted_not_silent(corpus):
    items, report = read_manifest(corpus / "manifest.jsonl", corpus / "audio", max_duration=3.0, min_duration=1.0)
    assert all(1.0 <= i.duration <= 3.0 for i in items)
    assert report.kept + sum(report.filtered.values()) == 24 and report.filtered


def test_stereo_and_other_rates_are_accepted_and_counted(tmp_path):
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "st.wav", np.zeros((8000, 2), np.float32) + 0.1, 8000)
    sf.write(tmp_path / "audio" / "hi.wav", np.zeros(44100, np.float32) + 0.1, 44100)
    lines = [dump({"id": n, "sentence": "bật đèn", "file": f"{n}.wav"}) for n in ("st", "hi")]
    items, report = read_manifest(write(tmp_path, lines), tmp_path / "audio")
    assert [round(i.duration, 3) for i in items] == [1.0, 1.0]
    assert (report.resampled, report.downmixed) == (2, 1)


def test_durations_are_cached_between_runs_and_refreshed_when_a_file_changes(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    records = copy_corpus(corpus, tmp_path, n=2)
    path = write(tmp_path, [dump(r) for r in records])
    first, _ = read_manifest(path, tmp_path / "audio")
    cache_files = list((tmp_path / "cache" / "vasr").glob("durations-*.json"))
    assert len(cache_files) == 1 and records[0]["file"] in cache_files[0].read_text()
    sf.write(tmp_path / "audio" / records[0]["file"], np.zeros(8000, np.float32), 16000)  # now 0.5 s
    again, _ = read_manifest(path, tmp_path / "audio")
    assert again[0].duration == 0.5 and again[1].duration == first[1].duration


def test_every_bad_line_is_reported_at_once_with_the_skip_hint(corpus, tmp_path):
    records = copy_corpus(corpus, tmp_path)
    lines = [dump(records[0]), "{oops", '{"id": 1}', dump({**records[1], "file": "nowhere.wav"}), b"\xff\xfe"]
    lines += ["{oops"] * 25  # past the cap: counted, not listed
    with pytest.raises(ManifestError) as error:
        read_manifest(write(tmp_path, lines), tmp_path / "audio")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'manifest.jsonl'}: 29 bad lines:")
    for number, reason in [(2, "not JSON"), (3, "missing key: sentence"), (4, "audio file missing"), (5, "not UTF-8")]:
        assert f"manifest.jsonl:{number}: {reason}" in message
    assert message.count("manifest.jsonl:") == 1 + 20 and "… and 9 more" in message  # the heading and 20 lines
    assert message.rstrip().endswith("skip them with data.skip_bad=true (each is counted in the run's validation.json)")
    assert error.value.__cause__ is None and error.value.__context__ is None  # one message, no chained traceback


def stated(corpus, tmp_path, wrong_line: int) -> str:
    """The first three utterances with their durations stated, line ``wrong_line``'s one second off."""
    records = copy_corpus(corpus, tmp_path)
    lines = []
    for number, record in enumerate(records, 1):
        duration = sf.info(tmp_path / "audio" / record["file"]).duration + (1.0 if number == wrong_line else 0.0)
        lines.append(dump(record | {"duration": round(duration, 3)}))
    return write(tmp_path, lines)


def test_stated_durations_are_taken_without_reading_the_audio(corpus, tmp_path):
    path = stated(corpus, tmp_path, wrong_line=2)
    first = json.loads(Path(path).read_text().splitlines()[0])
    (tmp_path / "audio" / first["file"]).unlink()  # never opened, so not noticed
    items, report = read_manifest(path, tmp_path / "audio", verify_durations="none")
    assert report.kept == len(items) == 3
    assert items[1].duration == pytest.approx(sf.info(items[1].path).duration + 1.0, abs=1e-3)


@pytest.mark.parametrize("verify", ["all", "sample"])
def test_verified_durations_that_differ_from_the_audio_are_bad_lines(corpus, tmp_path, verify):
    path = stated(corpus, tmp_path, wrong_line=2)
    with pytest.raises(ManifestError, match=r"manifest.jsonl:2: duration mismatch"):
        read_manifest(path, tmp_path / "audio", verify_durations=verify)
    items, report = read_manifest(path, tmp_path / "audio", verify_durations=verify, skip_bad=True)
    assert [item.line for item in items] == [1, 3] and report.kept == 2 and report.skipped == {"duration mismatch": 1}


def test_a_sample_reads_only_that_many_headers(corpus, tmp_path):
    path = stated(corpus, tmp_path, wrong_line=0)
    for record in Path(path).read_text().splitlines()[1:]:
        (tmp_path / "audio" / json.loads(record)["file"]).unlink()
    with pytest.raises(ManifestError, match="audio file missing"):
        read_manifest(path, tmp_path / "audio", verify_durations="sample", verify_sample=3)
    items, report = read_manifest(path, tmp_path / "audio", verify_durations="sample", verify_sample=2, skip_bad=True)
    assert report.skipped == {"audio file missing": 2} and len(items) == 1
    with pytest.raises(ValueError, match="give sample, all or none"):
        read_manifest(path, tmp_path / "audio", verify_durations="some")


def test_audio_paths_are_spelled_as_pathlib_spells_them():
    """Paths are joined per folder, not per row (a million rows): every oddity of a manifest's ``file`` (dots,
    doubled slashes, absolute paths, a trailing slash) comes out as ``str(root / file)`` would."""
    rng = random.Random(0)
    pieces = ["a", "b.wav", ".", "..", "", "/", "//", "x y", "ắ"]
    for _ in range(5000):
        file = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        root = Path(rng.choice([".", "/", "/data/corpus", "rel/dir", "//net"]))
        assert audio_path(root, file) == str(root / file), (root, file)


def mixed_manifest(corpus, tmp_path, copies: int = 40) -> str:
    """Good rows with and without stated durations, bad rows of every kind, blank lines and a byte-order mark,
    spread so that any cut into pieces falls among them."""
    records = copy_corpus(corpus, tmp_path, n=6)
    lines: list[str | bytes] = []
    for k in range(copies):
        record = records[k % len(records)] | {"id": f"u{k}"}
        if k % 2:
            record["duration"] = round(sf.info(tmp_path / "audio" / record["file"]).duration, 3)
        lines.append(dump(record))
        if k % 7 == 3:
            lines += ["{oops", "", '{"id": 1}', b'{"id": "x", "sentence": "b\xe1t", "file": "a.wav"}']
        if k % 11 == 5:
            lines.append(dump(record | {"id": f"gone{k}", "file": "nowhere.wav", "duration": None}))
    path = Path(write(tmp_path, lines))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return str(path)


@pytest.mark.parametrize("workers", [2, 3, 7])
def test_reading_in_pieces_gives_what_one_process_gives(corpus, tmp_path, monkeypatch, workers):
    """A manifest read by several processes: the same utterances in the same order, the same line numbers, the
    same counts and examples, the same refusal, and the headers they read remembered."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = mixed_manifest(corpus, tmp_path)
    one, one_report = read_manifest(path, tmp_path / "audio", skip_bad=True, workers=1)
    cache_file = next((tmp_path / "cache" / "vasr").glob("durations-*.json"))
    cache_file.unlink()
    many, many_report = read_manifest(path, tmp_path / "audio", skip_bad=True, workers=workers)
    assert len(one) == 40 and one.lines[0] == 1
    assert all(np.array_equal(a, b) for a, b in zip(one.arrays().values(), many.arrays().values(), strict=True))
    assert many_report.to_dict() == one_report.to_dict() and many_report.skipped["not JSON"] == 6
    assert json.loads(cache_file.read_text()).keys() == {item.path for item in one if item.line % 2}
    with pytest.raises(ManifestError) as refused_one:
        read_manifest(path, tmp_path / "audio", workers=1)
    with pytest.raises(ManifestError) as refused_many:
        read_manifest(path, tmp_path / "audio", workers=workers)
    assert str(refused_many.value) == str(refused_one.value)


def test_large_manifests_are_read_by_a_process_per_core(corpus, tmp_path, monkeypatch):
    import vasr.data.manifest as manifest

    path = Path(mixed_manifest(corpus, tmp_path))
    size = path.stat().st_size
    monkeypatch.setattr(manifest.os, "sched_getaffinity", lambda pid: {0, 1, 2})
    for piece_bytes, workers in [(size + 1, 1), (size // 2, 2), (size // 5, 3)]:  # a piece's worth each, a core each
        monkeypatch.setattr(manifest, "READ_PIECE_BYTES", piece_bytes)
        assert manifest.reading_workers(manifest.open_source(path), None) == workers
    assert manifest.reading_workers(manifest.open_source(path), 1) == 1
    gzipped = path.with_suffix(".jsonl.gz")
    gzipped.write_bytes(gzip.compress(path.read_bytes()))
    assert manifest.reading_workers(manifest.open_source(gzipped), None) == 1  # gzip is read from its start
