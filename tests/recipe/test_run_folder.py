"""The run folder: launch ids shared by every rank, one writer, and resuming without ever training over a run."""

import os
from pathlib import Path

import pytest
import torch

from vasr.recipe.run_folder import RunFolder, damaged, is_writer, launch_id


def test_launchers_name_the_run_alike_on_every_rank(monkeypatch):
    for name in ("SLURM_JOB_ID", "SLURM_STEP_ID", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    assert launch_id()[:2] == "20"  # the start time
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")  # torchrun without --rdzv-id: no shared id
    assert launch_id()[:2] == "20"
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job7")
    assert launch_id() == "torchrun-job7"
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_STEP_ID", "3")
    assert launch_id() == "slurm4242.3"


def test_resume_point_last_auto_and_no_overwrite(tmp_path):
    def point(value):
        return RunFolder(tmp_path).resume_point(value)

    assert point(None) is None and point("auto") is None
    with pytest.raises(FileNotFoundError, match="ckpt_path=last but"):
        point("last")
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    torch.save({"global_step": 4}, last)
    assert point("last") == point("auto") == str(last)
    with pytest.raises(FileExistsError, match="holds a trained run"):
        point(None)


def test_the_checkpoint_lightning_saved_at_a_slurm_signal_is_resumed_when_newer(tmp_path):
    last = RunFolder(tmp_path).last_checkpoint
    last.parent.mkdir()
    torch.save({"global_step": 4}, last)
    signalled = tmp_path / "hpc_ckpt_1.ckpt"  # Lightning's name, in its default_root_dir: the run folder
    torch.save({"global_step": 6}, signalled)
    os.utime(last, (1, 1))
    assert RunFolder(tmp_path).resume_point("last") == RunFolder(tmp_path).resume_point("auto") == str(signalled)
    torch.save({"global_step": 8}, last)  # trained on after the resume
    assert RunFolder(tmp_path).resume_point("last") == str(last)


@pytest.mark.parametrize(
    ("env", "writes"),
    [
        ({}, True),
        ({"RANK": "0", "LOCAL_RANK": "0"}, True),  # torchrun
        ({"RANK": "3", "LOCAL_RANK": "1"}, False),
        ({"LOCAL_RANK": "0", "NODE_RANK": "0", "SLURM_PROCID": "0"}, True),  # Lightning's launch, in an sbatch script
        ({"LOCAL_RANK": "1", "NODE_RANK": "0", "SLURM_PROCID": "0"}, False),  # the rank it started
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),  # the first rank of the second node
        ({"SLURM_PROCID": "2"}, False),  # srun
        ({"SLURM_PROCID": "0"}, True),
    ],
)
def test_one_writer_whatever_the_launcher(monkeypatch, env, writes):
    for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert is_writer() is writes and RunFolder(Path("x")).is_writer is writes


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_last_checkpoint_is_refused_naming_the_newest_intact_one(damage, tmp_path):
    run = RunFolder(tmp_path)
    run.checkpoints.mkdir()
    older, newer = run.checkpoints / "best-step2.ckpt", run.checkpoints / "best-step4.ckpt"
    for step, path in enumerate((older, newer, run.last_checkpoint)):
        torch.save({"global_step": step, "weights": torch.randn(50_000)}, path)
        os.utime(path, (step, step))  # written in this order
    data = bytearray(run.last_checkpoint.read_bytes())
    if damage == "truncated":  # disk full, a node killed while writing
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    run.last_checkpoint.write_bytes(data)
    assert damaged(run.last_checkpoint) and damaged(newer) is None
    with pytest.raises(ValueError) as refused:
        run.resume_point("last")
    message = str(refused.value)
    assert str(run.last_checkpoint) in message and f"resume with ckpt_path={newer}" in message
    assert ("truncated" if damage == "truncated" else "fails its checksum") in message
    assert run.resume_point("auto") == str(newer)  # a requeued job goes on from the newest whole one
    with pytest.raises(ValueError, match="newest intact checkpoint is"):
        run.resume_point(str(run.last_checkpoint))  # named by path, the same check
    for path in (older, newer):
        path.write_bytes(b"")
    with pytest.raises(ValueError, match="holds no intact checkpoint: start a new run_name"):
        run.resume_point("auto")
