"""train.py on a public corpus's layout prepared by ``vasr-prepare``, on a NeMo manifest read as it is, and on a
weighted mix of two corpora scored per test set."""

import json
import math
import sys

import pytest
import soundfile as sf

from tests.batch_recorder import batches_by_rank, record_to
from tests.e2e.test_distributed import TWO_RANKS
from tests.e2e.test_train import finish, launch, run
from tests.prepare.test_vivos import vivos
from vasr.prepare import prepare

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


def demo_utterances(corpus) -> list[dict]:
    """The demo corpus's lines, each with its WAV's path (what the corpus layouts are made of)."""
    utterances = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    return [u | {"wav": corpus / "audio" / u["file"]} for u in utterances]


def test_a_prepared_vivos_folder_and_a_nemo_manifest_train(corpus, tmp_path):
    utterances = demo_utterances(corpus)
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


def test_a_mix_of_two_corpora_reports_a_wer_per_test_set(corpus, tmp_path):
    prepare("vivos", vivos(tmp_path, demo_utterances(corpus), sizes=(12, 6)), tmp_path / "vivos")
    demo = f"{{manifest: {corpus / 'manifest.jsonl'}, audio_dir: {corpus / 'audio'}, weight: 0.5}}"
    train, test = tmp_path / "vivos" / "train.jsonl", tmp_path / "vivos" / "test.jsonl"
    vivos_corpus = f"{{manifest: {train}, val_manifest: {test}, test_manifest: {test}, weight: 2}}"
    result = run(
        "train.py",
        *QUICK,
        "data=corpora",
        f"data.corpora={{demo: {demo}, vivos: {vivos_corpus}}}",
        f"data.test_sets={{heard: {train}}}",  # a test set no corpus tests on: VIVOS's training utterances
        "data.val_ratio=0.25",
        "data.test_ratio=0.25",
        "trainer.val_check_interval=2",
        f"paths.runs_dir={tmp_path / 'runs'}",
        "run_name=mix",
    )
    results = json.loads((tmp_path / "runs" / "train" / "mix" / "results.json").read_text())
    table = results["test_sets"]
    assert {name: row["n_utterances"] for name, row in table.items()} == {"demo": 6, "vivos": 6, "heard": 12}
    assert all(math.isfinite(row["wer"]) and row["hours"] > 0 for row in table.values())
    assert math.isfinite(results["val/demo/wer"]) and math.isfinite(results["val/vivos/wer"])
    printed = result.stdout[result.stdout.index("results per test set:") :].splitlines()
    assert [line.split()[0] for line in printed[2:5]] == ["demo", "vivos", "heard"]


def test_a_mix_under_ddp_gives_each_rank_its_own_part_of_the_draw(corpus, tmp_path):
    """2 gloo ranks on a weighted mix (augmentation on): every step's two batches disjoint, both corpora trained,
    validation scored per corpus, the run ended cleanly."""
    prepare("vivos", vivos(tmp_path, demo_utterances(corpus), sizes=(12, 6)), tmp_path / "vivos")
    demo = f"{{manifest: {corpus / 'manifest.jsonl'}, audio_dir: {corpus / 'audio'}, weight: 1.0}}"
    train, test = tmp_path / "vivos" / "train.jsonl", tmp_path / "vivos" / "test.jsonl"
    vivos_corpus = f"{{manifest: {train}, val_manifest: {test}, test_manifest: {test}, weight: 0.5}}"
    record = tmp_path / "batches.jsonl"
    run(
        "train.py",
        *QUICK,
        "data=corpora",
        f"data.corpora={{demo: {demo}, vivos: {vivos_corpus}}}",
        "data.val_ratio=0.25",
        "data.test_ratio=0.25",
        "trainer.val_check_interval=2",
        *TWO_RANKS,
        "augment=default",
        *record_to(record),
        f"paths.runs_dir={tmp_path / 'runs'}",
        "run_name=ddp-mix",
        timeout=420,
    )
    ranks = batches_by_rank(record, steps=4)
    for step in range(4):
        assert not set(ranks[0][step][0]) & set(ranks[1][step][0])
    trained = {uid.split("/")[0] for rank in ranks for ids, _ in rank.values() for uid in ids}
    assert trained == {"demo", "vivos"}
    results = json.loads((tmp_path / "runs" / "train" / "ddp-mix" / "results.json").read_text())
    assert math.isfinite(results["val/demo/wer"]) and math.isfinite(results["val/vivos/wer"])
    assert math.isfinite(results["test/wer"])
