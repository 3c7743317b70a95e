"""vasr-slu on a folder as users have them: SoICT submission lines, a named error, the exit status, and nothing
printed but its own lines."""

import json
import subprocess
import sys

import numpy as np
import soundfile as sf
import soxr

from tests.slu.conftest import TRAINED
from vasr import ASSETS
from vasr.audio import SAMPLE_RATE, load_audio
from vasr.data.manifest import read_manifest


@TRAINED
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
    command = [sys.executable, "-m", "vasr.slu", str(ASSETS / "vasr-tiny-vi"), str(run.nlu), str(folder), "--out"]
    done = subprocess.run([*command, str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["file"].split("/")[-1] for row in rows] == ["a.wav", "b.wav", "c.wav"]
    for row in rows[:2]:
        assert set(row) == {"file", "intent", "entities", "text"} and isinstance(row["entities"], list)
        assert all(set(entity) == {"type", "filler"} for entity in row["entities"])
    assert "error" in rows[2]
    # vasr's lines only: the NLU folder loads as it was saved, so no transformers load report (pooler MISSING)
    assert "2 understood, 1 failed" in done.stderr
    assert "LOAD REPORT" not in done.stdout + done.stderr and "MISSING" not in done.stdout + done.stderr
