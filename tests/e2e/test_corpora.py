"""train.py on a public corpus's layout prepared by ``vasr-prepare`` and on a NeMo manifest read as it is."""

import json
import sys

import pytest
import soundfile as sf

from tests.e2e.test_train import finish, launch, run
from tests.prepare.test_vivos import vivos

pytestmark = pytest.mark.slow
QUICK = ["model=micro", "logger=csv", "decode=greedy", "~nlu", "trainer.max_steps=4", "data.loader.max_seconds=20"]


def train_on(manifest, runs, name: str) -> dict:
    """A 4-step run on ``manifest`` (audio paths as the manifest gives them); its results and validation."""
    run(
        "train.py",
        *QUICK,
        "data=soict",
        f"data.manifest={manifest}",
        "data.audio_dir=null",
        "data.val_ratio=0.25",
        "data.test_ratio=0.25",
        "data.loader.num_workers=0",
        f"paths.runs_dir={runs}",
        f"run_name={name}",
    )
    folder = runs / "train" / name
    validation = json.loads((folder / "validation.json").read_text())
    return json.loads((folder / "results.json").read_text()) | {"validation": validation}


def test_a_prepared_vivos_folder_and_a_nemo_manifest_train(corpus, tmp_path):
    utterances = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    utterances = [u | {"wav": corpus / "audio" / u["file"]} for u in utterances]
    src = vivos(tmp_path, utterances, sizes=(16, 8))
    finish(launch([sys.executable, "-m", "vasr.prepare", "vivos", str(src), str(tmp_path / "vivos")]))
    trained = train_on(tmp_path / "vivos" / "train.jsonl", tmp_path / "runs", "vivos")
    assert "test/wer" in trained and trained["validation"][0]["kept"] == 16

    nemo = tmp_path / "nemo" / "train_manifest.json"
    nemo.parent.mkdir()
    lines = [
        {"audio_filepath": str(u["wav"]), "text": u["sentence"], "duration": sf.info(u["wav"]).duration}
        for u in utterances
    ]
    nemo.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    trained = train_on(nemo, tmp_path / "runs", "nemo")
    assert "test/wer" in trained and trained["validation"][0]["kept"] == 24
