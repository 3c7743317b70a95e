"""The run folder: one per run, shared by every process of a DDP, torchrun or SLURM launch."""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

from omegaconf import OmegaConf


def launch_id() -> str:
    """What names a run when no ``run_name`` is given: the same on every process of one launch.

    ``srun`` gives all its tasks the job and step ids, ``torchrun`` its rendezvous id (``--rdzv-id``);
    otherwise the start time (Lightning's own DDP launch pins the parent's folder in the environment).
    """
    if os.environ.get("SLURM_JOB_ID") and os.environ.get("SLURM_STEP_ID"):
        return f"slurm{os.environ['SLURM_JOB_ID']}.{os.environ['SLURM_STEP_ID']}"
    if os.environ.get("TORCHELASTIC_RUN_ID", "none") != "none":
        return f"torchrun-{os.environ['TORCHELASTIC_RUN_ID']}"
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def global_rank() -> int:
    """This process's rank as the launchers set it, before any process group exists."""
    for name in ("RANK", "SLURM_PROCID"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


OmegaConf.register_new_resolver("vasr_launch_id", launch_id, use_cache=True, replace=True)
# Hydra writes its .hydra/ folder from global rank 0 only.
OmegaConf.register_new_resolver("vasr_rank_zero", lambda value: value if global_rank() == 0 else None, replace=True)


def pin_run(folder: Path, name: str) -> None:
    """Ranks Lightning re-launches read the parent's folder and name from the environment.

    Lightning re-runs the script per extra rank with Hydra overrides that would re-resolve the
    start time and sweep folders; the environment keeps every rank writing into the same place.
    """
    if global_rank() == 0 and "LOCAL_RANK" not in os.environ:
        os.environ["VASR_RUN_DIR"] = str(folder)
        os.environ["VASR_RUN_NAME"] = name


def git_commit() -> str | None:
    """The commit of the code that ran, stored with the run."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
