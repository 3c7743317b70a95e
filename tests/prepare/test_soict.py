import pytest

from tests.prepare.conftest import prepared
from vasr.prepare import prepare
from vasr.prepare.__main__ import main


def test_a_soict_manifest_is_written_again_with_absolute_paths_and_durations(corpus, tmp_path, capsys):
    out = tmp_path / "out"
    main(["soict", str(corpus / "manifest.jsonl"), str(out), "--audio-dir", str(corpus / "audio")])
    assert capsys.readouterr().out.strip() == str(out / "manifest.jsonl")
    lines = prepared(out, "manifest")
    original = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(original) == 24
    assert lines[0]["file"] == str(corpus / "audio" / lines[0]["file"].rsplit("/", 1)[1])
    assert {"intent", "entities", "sentence_annotation"} <= set(lines[0])  # the corpus's own fields kept


def test_the_command_refuses_bad_rows_with_their_lines_and_no_traceback(corpus, tmp_path, capsys):
    manifest = tmp_path / "bad.jsonl"
    manifest.write_text('{"id": "a", "sentence": "x", "file": "nowhere.wav"}\n{oops\n', encoding="utf-8")
    with pytest.raises(SystemExit) as error:
        main(["soict", str(manifest), str(tmp_path / "out")])
    message = str(error.value.code)
    assert f"{manifest}:1: audio file missing" in message and f"{manifest}:2: not JSON" in message
    assert prepare("soict", manifest, tmp_path / "out", skip_bad=True)["bad"].kept == 0
