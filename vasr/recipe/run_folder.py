"""The run folder: one per run, shared by every process of a DDP, torchrun or SLURM launch."""

from __future__ import annotations

import datetime
import logging
import os
import subprocess
import traceback
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("vasr")


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


def precision() -> str:
    """Lightning precision for this machine's accelerator: bf16 where CUDA has it, fp16 on older GPUs, else fp32."""
    import torch

    if not torch.cuda.is_available():
        return "32-true"
    return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"


OmegaConf.register_new_resolver("vasr_launch_id", launch_id, use_cache=True, replace=True)
OmegaConf.register_new_resolver("vasr_precision", precision, use_cache=True, replace=True)
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


def open_run(cfg: DictConfig) -> tuple[Path, bool]:
    """The run's folder, made, with its resolved config and code commit (global rank 0); and whether this
    process is the one that writes (global rank 0)."""
    folder = Path(cfg.paths.output_dir)
    pin_run(folder, str(cfg.run_name))
    folder.mkdir(parents=True, exist_ok=True)
    writer = global_rank() == 0
    if writer:
        OmegaConf.save(cfg, folder / "config.yaml", resolve=True)
        (folder / "git_commit.txt").write_text(f"{git_commit()}\n")
    return folder, writer


def resume_point(cfg: DictConfig, folder: Path) -> str | None:
    """``ckpt_path=last`` means this run folder's last checkpoint, ``auto`` that one if it exists (a requeued
    SLURM job); a folder that has one is never trained over from scratch."""
    path = folder / "checkpoints" / "last.ckpt"
    if cfg.ckpt_path == "auto":
        return str(path) if path.exists() else None
    if cfg.ckpt_path == "last":
        if not path.exists():
            raise FileNotFoundError(f"ckpt_path=last but {path} does not exist; pass run_name of the run to resume")
        return str(path)
    if cfg.ckpt_path is None and path.exists():
        raise FileExistsError(f"{folder} holds a trained run: resume it (ckpt_path=last) or give a new run_name")
    return cfg.ckpt_path


def record_failure(cfg: DictConfig) -> float:
    """In a sweep, a failed job is written to its folder (``failed.txt``) and scores +inf, so the sweep goes
    on; outside one the error propagates. Called from an ``except`` block."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not (HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN):
        raise
    trace = traceback.format_exc()
    folder = Path(cfg.paths.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "failed.txt").write_text(trace.strip().splitlines()[-1] + "\n" + trace)
    log.exception("job %s failed; the sweep goes on", cfg.run_name)
    return float("inf")


def unpin_run() -> None:
    """The next job of a sweep in this process gets its own folder."""
    os.environ.pop("VASR_RUN_DIR", None)
    os.environ.pop("VASR_RUN_NAME", None)


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
