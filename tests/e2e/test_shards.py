"""Training from shards through train.py: one process, and 2 gloo ranks killed with SIGKILL and resumed."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch_recorder import trained_batches
from tests.conftest import ROOT
from tests.data.test_shards import sharded_splits
from tests.e2e.test_distributed import QUICK, RESUMABLE
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


def test_train_py_trains_from_shards(corpus, shards, tmp_path):
    run(
        "train.py",
        *QUICK,
        *shard_args(corpus, shards, tmp_path),
        "run_name=sharded",
        "trainer.max_steps=4",
        timeout=600,
    )
    rows = (tmp_path / "train" / "sharded" / "batches.jsonl").read_text().splitlines()
    assert len(rows) == 4
    train = {item.id for item in sharded_splits(shards)["train"]}
    assert {
        uid for steps in trained_batches(tmp_path / "train" / "sharded" / "batches.jsonl").values() for uid in steps[0]
    } <= train


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
