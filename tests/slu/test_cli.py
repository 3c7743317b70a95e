"""vasr-slu on a folder as users have them: SoICT submission lines, a named error, the exit status."""

import json

import numpy as np
import soundfile as sf
import soxr

from vasr import ASSETS
from vasr.audio import SAMPLE_RATE, load_audio
from vasr.data.manifest import read_manifest
from vasr.slu.__main__ import main


def test_two_result_lines_and_one_named_error(corpus, trained, tmp_path):
    _, _, run = trained
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    folder = tmp_path / "audio"
    folder.mkdir()
    sf.write(folder / "a.wav", load_audio(items[0].path), SAMPLE_RATE)
    stereo = soxr.resample(load_audio(items[1].path), SAMPLE_RATE, 44100)
    sf.write(folder / "b.wav", np.stack([stereo, stereo], axis=1), 44100)
    (folder / "c.wav").write_text("not audio\n")
    out = tmp_path / "slu.jsonl"
    assert main([str(ASSETS / "vasr-tiny-vi"), str(run.nlu), str(folder), "--out", str(out)]) == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["file"].split("/")[-1] for row in rows] == ["a.wav", "b.wav", "c.wav"]
    for row in rows[:2]:
        assert set(row) == {"file", "intent", "entities", "text"} and isinstance(row["entities"], list)
        assert all(set(entity) == {"type", "filler"} for entity in row["entities"])
    assert "error" in rows[2]
