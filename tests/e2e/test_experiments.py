"""Experiments at scale, proven on CPU: sweeps, Optuna, W&B offline, crash and resume (DDP: test_distributed.py)."""

import json
import re
import sys
from pathlib import Path

import pytest
import torch

from tests.batch_recorder import trained_batches
from tests.conftest import ROOT
from tests.e2e.test_train import corpus_args, killed_at, launch, run
from vasr.tools.compare import write_comparison

pytestmark = pytest.mark.slow
# Greedy decoding and no NLU step: the LM and NLU steps of a run are covered in tests/e2e/test_train.py.
QUICK = [
    "model=micro",
    "logger=csv",
    "decode=greedy",
    "~nlu",
    "trainer.val_check_interval=2",
    "data.loader.max_seconds=20",
    "test_after_fit=false",
]


def test_multirun_with_a_failing_job_exits_non_zero_after_the_others_then_compare(corpus, tmp_path):
    sweep = tmp_path / "sweep"
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        *QUICK,
        *corpus_args(corpus),
        f"hydra.sweep.dir={sweep}",
        "trainer.max_steps=2",
        "model.optimizer.lr=1e-3,3e-3",
        "model.scheduler.name=linear,bogus",
    ]
    process = launch(command)
    stdout, stderr = process.communicate(timeout=600)
    output = stdout + stderr
    assert process.returncode == 1
    assert f"sweep folder {sweep}: each job writes {sweep}/<job>-<run_name>/" in output
    assert len(re.findall(r"job \S+ failed: .*bogus is not a valid SchedulerType", output)) == 2
    assert f"2 of 4 jobs failed; the others ran: vasr-compare {sweep}" in output
    rows = write_comparison(sweep)
    assert len(rows) == 4
    assert sum(r["status"] == "done" for r in rows) == 2
    failed = [r for r in rows if r["status"].startswith("failed")]
    assert len(failed) == 2 and "bogus is not a valid SchedulerType" in failed[0]["status"]
    table = (sweep / "comparison.md").read_text()
    header = table.splitlines()[0]
    assert "model.optimizer.lr" in header and "model.scheduler.name" in header and (sweep / "val_wer.png").exists()
    assert "test/lm_wer" not in header or "test/wer" in header  # every metric the runs have, the usual first


def test_optuna_two_trials(corpus, tmp_path):
    sweep = tmp_path / "optuna"
    result = run(
        "train.py",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        *QUICK,
        *corpus_args(corpus),
        f"hydra.sweep.dir={sweep}",
        "trainer.max_steps=2",
    )
    assert len(write_comparison(sweep)) == 2
    assert "best_value" in (sweep / "optimization_results.yaml").read_text()
    assert result.returncode == 0
    output = result.stdout + result.stderr
    assert "alembic" not in output and "ExperimentalWarning" not in output  # the storage's setup stays quiet


def test_wandb_offline_run_holds_config_and_metrics(corpus, tmp_path):
    run(
        "train.py",
        *[q for q in QUICK if q != "logger=csv"],
        "logger=wandb",
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "run_name=wb",
        "trainer.max_steps=2",
        "trainer.log_every_n_steps=1",
    )
    offline = list((tmp_path / "train" / "wb" / "wandb").glob("offline-run-*"))
    assert len(offline) == 1
    # An offline run keeps config and history in its .wandb log until `wandb sync` uploads it.
    data = next(offline[0].glob("*.wandb")).read_bytes()
    assert b"micro" in data and b"optimizer" in data
    assert b"val/wer" in data and b"train/loss" in data and b"audio_seconds_per_second" in data
    assert list((offline[0] / "files" / "media" / "table" / "val").glob("predictions_*.table.json"))


def checkpoint_step(path: Path) -> int:
    return torch.load(path, map_location="cpu", weights_only=False)["global_step"]


def test_kill_9_mid_epoch_then_resume_trains_the_uninterrupted_batches(corpus, tmp_path):
    args = [
        "+callbacks.record._target_=tests.batch_recorder.RecordBatches",
        "+callbacks.record.path=${paths.output_dir}/batches.jsonl",
        "model=micro",  # the default logger (W&B offline, and metrics.csv): a resume continues the W&B run
        "augment=default",  # speed, rooms and noise: the resumed run must hear the same audio
        "decode=greedy",
        "~nlu",
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "trainer.max_epochs=2",
        "data.loader.batch_size=1",
        "data.loader.max_seconds=null",
        "callbacks.last_checkpoint.every_n_steps=1",
        "test_after_fit=false",
    ]
    run("train.py", *args, "run_name=whole")
    whole = checkpoint_step(tmp_path / "train" / "whole" / "checkpoints" / "last.ckpt")
    assert whole == 24  # 12 training utterances, batch 1, 2 epochs

    killed_at([*args, "run_name=killed"], tmp_path / "train" / "killed", 17)  # in the middle of the second epoch
    last = tmp_path / "train" / "killed" / "checkpoints" / "last.ckpt"
    assert checkpoint_step(last) == 17
    resumed = run("train.py", *args, "run_name=killed", "ckpt_path=last")
    assert checkpoint_step(last) == whole
    assert "not resumable" not in resumed.stdout + resumed.stderr  # vasr's loader resumes mid-epoch
    wandb_id = (tmp_path / "train" / "killed" / "wandb_id.txt").read_text()
    assert len(list((tmp_path / "train" / "killed" / "wandb").glob(f"offline-run-*-{wandb_id}"))) == 2
    uninterrupted = trained_batches(tmp_path / "train" / "whole" / "batches.jsonl")
    assert (
        len(uninterrupted) == 24 and trained_batches(tmp_path / "train" / "killed" / "batches.jsonl") == uninterrupted
    )
    logged = (tmp_path / "train" / "killed" / "metrics.csv").read_text().splitlines()
    steps = {int(line.split(",")[logged[0].split(",").index("step")]) for line in logged[1:]}
    assert 9 in steps and max(steps) >= whole - 1  # rows from before the kill are kept
    results = json.loads((tmp_path / "train" / "killed" / "results.json").read_text())
    assert "val/wer" in results


def test_resume_on_a_changed_training_split_is_refused_unless_forced(corpus, tmp_path):
    default_logger = [q for q in QUICK if q != "logger=csv"]
    args = [*default_logger, *corpus_args(corpus), f"paths.runs_dir={tmp_path}", "run_name=split"]
    run("train.py", *args, "trainer.max_steps=2")
    changed = [*args, "data.val_ratio=0.125", "ckpt_path=last", "trainer.max_steps=4"]  # 3 more training utterances
    process = launch([sys.executable, str(ROOT / "train.py"), *changed])
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode != 0
    assert "the checkpoint trained on 12 utterances" in stderr and "split is 15 utterances" in stderr
    assert "resume_changed_split=true" in stderr
    forced = run("train.py", *changed, "resume_changed_split=true")
    assert "resuming although the checkpoint trained on 12 utterances" in forced.stdout + forced.stderr
    assert checkpoint_step(tmp_path / "train" / "split" / "checkpoints" / "last.ckpt") == 4
