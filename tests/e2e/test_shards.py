"""Training from shards through train.py: one process, and 2 gloo ranks killed with SIGKILL and resumed."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch_recorder import batches_by_rank, record_to, trained_batches
from tests.conftest import ROOT
from tests.data.test_shards import sharded_splits
from tests.e2e.test_distributed import QUICK, RESUMABLE, TWO_RANKS
from tests.e2e.test_distributed_families import killed_at
from tests.e2e.test_train import clean_env, corpus_args, run

pytestmark = pytest.mark.slow
KILLED_AT, STEPS = 3, 6
RECORD = [
    "+callbacks.record._target_=tests.batch_recorder.RecordBatches",
    "+callbacks.record.path=${paths.output_dir}/batches.jsonl",
]


@pytest.fixture(scope="module")
def shards(corpus, tmp_path_factory) -> Path:
    """``vasr-shard`` as a user runs it: the test corpus's 12 training utterances in 4 shards."""
    out = tmp_path_factory.mktemp("shards")
    command = [sys.executable, "-m", "vasr.tools.shard", str(corpus / "manifest.jsonl"), str(out)]
    options = ["--audio-dir", str(corpus / "audio"), "--val-ratio", "0.25", "--test-ratio", "0.25", "--shard-size", "3"]
    subprocess.run([*command, *options], cwd=ROOT, env=clean_env(), check=True, timeout=300)
    return out


def shard_args(corpus: Path, shards: Path, tmp_path: Path) -> list[str]:
    return [*corpus_args(corpus), f"data.shards={shards}", "~nlu", f"paths.runs_dir={tmp_path}", *RECORD]


def test_train_py_trains_validates_and_tests_from_shards(corpus, shards, tmp_path):
    """Validation and test read from the folder's own shards: the folder alone is what the run needs."""
    run(
        "train.py",
        *[option for option in QUICK if option != "test_after_fit=false"],
        *shard_args(corpus, shards, tmp_path),
        "run_name=sharded",
        "trainer.max_steps=4",
        "trainer.val_check_interval=2",
        "trainer.check_val_every_n_epoch=null",
        timeout=600,
    )
    folder = tmp_path / "train" / "sharded"
    rows = (folder / "batches.jsonl").read_text().splitlines()
    assert len(rows) == 4
    splits = sharded_splits(shards)
    assert {uid for steps in trained_batches(folder / "batches.jsonl").values() for uid in steps[0]} <= {
        item.id for item in splits["train"]
    }
    results = json.loads((folder / "results.json").read_text())
    assert math.isfinite(results["val/wer"]) and math.isfinite(results["test/wer"])
    scored = [json.loads(line)["id"] for line in (folder / "predictions.jsonl").read_text().splitlines()]
    assert sorted(scored) == sorted(item.id for item in splits["test"])


def test_ddp_from_shards_killed_then_resumed_trains_the_uninterrupted_batches(corpus, shards, tmp_path):
    """2 ranks, speed perturbation, rooms and noise (babble from shard members) as the default has them."""
    args = [
        *RESUMABLE,
        *shard_args(corpus, shards, tmp_path),
        "augment=default",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        f"trainer.max_steps={STEPS}",
        "callbacks.last_checkpoint.every_n_steps=1",
    ]
    run("train.py", *args, "run_name=whole", timeout=600)
    killed = tmp_path / "train" / "killed"
    killed_at([*args, "run_name=killed"], killed, KILLED_AT)
    resumed = run("train.py", *args, "run_name=killed", "ckpt_path=last", timeout=600)
    assert "Restoring states from the checkpoint" in resumed.stdout + resumed.stderr
    whole = tmp_path / "train" / "whole" / "batches.jsonl"
    for rank in (0, 1):  # every rank, before and after the kill, the batches and audio of the uninterrupted run
        assert trained_batches(killed / "batches.jsonl", rank) == trained_batches(whole, rank)
        assert sorted(trained_batches(whole, rank)) == list(range(STEPS))


def test_ddp_on_a_mix_of_two_sharded_corpora(corpus, shards, tmp_path):
    """``data.corpora`` of two shard folders (weights 2 and 0.5) on 2 gloo ranks with augmentation: the ranks' batches
    apart but for the small corpus's second copies, both corpora trained, validation per corpus, a clean end."""
    other = tmp_path / "other"  # the corpus again in shards of another size: a second corpus of its own folder
    command = [sys.executable, "-m", "vasr.tools.shard", str(corpus / "manifest.jsonl"), str(other)]
    options = ["--audio-dir", str(corpus / "audio"), "--val-ratio", "0.25", "--test-ratio", "0.25", "--shard-size", "5"]
    subprocess.run([*command, *options], cwd=ROOT, env=clean_env(), check=True, timeout=300)
    record = tmp_path / "batches.jsonl"
    run(
        "train.py",
        *QUICK,
        *corpus_args(corpus),
        "data=corpora",
        f"data.corpora={{small: {{shards: {shards}, weight: 2}}, big: {{shards: {other}, weight: 0.5}}}}",
        "augment=default",
        *TWO_RANKS,
        "trainer.max_steps=4",
        "trainer.val_check_interval=2",
        "trainer.check_val_every_n_epoch=null",
        *record_to(record),
        f"paths.runs_dir={tmp_path}",
        "run_name=mix",
        timeout=600,
    )
    ranks = batches_by_rank(record, steps=4)
    for step in range(4):  # only the twice-drawn corpus's utterances can be on both ranks at once: its two copies
        assert all(uid.startswith("small/") for uid in set(ranks[0][step][0]) & set(ranks[1][step][0]))
    assert {uid.split("/")[0] for rank in ranks for ids, _ in rank.values() for uid in ids} == {"small", "big"}
    results = json.loads((tmp_path / "train" / "mix" / "results.json").read_text())
    assert math.isfinite(results["val/small/wer"]) and math.isfinite(results["val/big/wer"])
