"""The run folder: launch ids shared by every rank, and resuming without ever training over a run."""

import pytest
from omegaconf import OmegaConf

from vasr.recipe.run_folder import launch_id, resume_point


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
        return resume_point(OmegaConf.create({"ckpt_path": value}), tmp_path)

    assert point(None) is None and point("auto") is None
    with pytest.raises(FileNotFoundError, match="ckpt_path=last but"):
        point("last")
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    last.write_bytes(b"")
    assert point("last") == point("auto") == str(last)
    with pytest.raises(FileExistsError, match="holds a trained run"):
        point(None)
