"""The run folder: one per run, shared by every process of a DDP, torchrun or SLURM launch."""

from __future__ import annotations

import datetime
import json
import logging
import os
import subprocess
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("vasr")
CHECKPOINTS = "checkpoints"


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


def is_writer() -> bool:
    """Whether this process writes the run's files: global rank 0. The one rank question of vasr, asked of the
    variables each launcher sets, so it holds before a process group exists and after: torchrun's ``RANK``;
    Lightning's own launch of extra ranks sets only ``LOCAL_RANK`` and ``NODE_RANK``; ``srun`` sets
    ``SLURM_PROCID`` (read last: it is also set in a batch script that Lightning itself launches from)."""
    if "RANK" in os.environ:
        return int(os.environ["RANK"]) == 0
    if "LOCAL_RANK" in os.environ or "NODE_RANK" in os.environ:
        return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0
    return int(os.environ.get("SLURM_PROCID", 0)) == 0


def precision() -> str:
    """Lightning precision for this machine's accelerator: bf16 where CUDA has it, fp16 on older GPUs, else fp32."""
    import torch

    if not torch.cuda.is_available():
        return "32-true"
    return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"


def pin_run(folder: Path, name: str) -> None:
    """Ranks Lightning re-launches read the parent's folder and name from the environment.

    Lightning re-runs the script per extra rank with Hydra overrides that would re-resolve the
    start time and sweep folders; the environment keeps every rank writing into the same place.
    """
    if is_writer() and "LOCAL_RANK" not in os.environ:
        os.environ["VASR_RUN_DIR"] = str(folder)
        os.environ["VASR_RUN_NAME"] = name


@dataclass(frozen=True)
class RunFolder:
    """Every file of a run, named once (the role NeMo's ``exp_manager`` plays). Only the recipe writes here,
    and only the writer process (:func:`is_writer`); ``text/``, ``data/`` and ``decoding/`` return data."""

    root: Path

    @classmethod
    def open(cls, cfg: DictConfig) -> RunFolder:
        """The run's folder, made, pinned for the ranks Lightning starts later, with the resolved config and the
        code's commit (the writer only)."""
        run = cls(Path(cfg.paths.output_dir))
        pin_run(run.root, str(cfg.run_name))
        run.root.mkdir(parents=True, exist_ok=True)
        if run.is_writer:
            OmegaConf.save(cfg, run.config, resolve=True)
            run.write_text("git_commit.txt", f"{git_commit()}\n")
        return run

    @classmethod
    def of_checkpoint(cls, path: Path) -> RunFolder:
        """The run a checkpoint was saved in (``RUN/checkpoints/x.ckpt``), else the checkpoint's own folder."""
        return cls(path.parent.parent if path.parent.name == CHECKPOINTS else path.parent)

    @property
    def is_writer(self) -> bool:
        return is_writer()

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        """Written every N steps, at the end and on an exception; what ``ckpt_path=last`` resumes."""
        return self.checkpoints / "last.ckpt"

    @property
    def newest_checkpoint(self) -> Path:
        """What ``ckpt_path=last`` resumes: ``last.ckpt``, or the one Lightning saved when SLURM signalled the job's
        preemption or time limit (``hpc_ckpt_N.ckpt`` in the run folder) when that is newer."""
        found = [path for path in (self.last_checkpoint, *self.root.glob("hpc_ckpt_*.ckpt")) if path.exists()]
        return max(found, key=lambda path: path.stat().st_mtime, default=self.last_checkpoint)

    # best checkpoints are best-step1372.ckpt: no '=' that Hydra's override parser would trip on when pasted
    BEST_CHECKPOINT = "best-step{step}"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def nlu(self) -> Path:
        """The run's NLU model folder (``vasr.slu.model.NluModel``) and its metrics.csv."""
        return self.root / "nlu"

    @property
    def split(self) -> Path:
        return self.root / "split"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions.jsonl"

    @property
    def reliability(self) -> Path:
        """Word confidence against word accuracy on the validation split (vasr.decoding.confidence)."""
        return self.root / "confidence_reliability.csv"

    @property
    def metrics_csv(self) -> Path:
        return self.root / "metrics.csv"

    def write_text(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def write_json(self, name: str, data: object) -> Path:
        return self.write_text(name, json.dumps(data, ensure_ascii=False, indent=1))

    def resume_point(self, ckpt_path: str | None) -> str | None:
        """``ckpt_path=last`` means this run's last checkpoint, ``auto`` that one if it exists (a requeued SLURM
        job); a folder that has one is never trained over from scratch. A damaged checkpoint is refused, naming
        the newest intact one; ``auto`` (nobody is watching a requeued job) resumes from that one, saying so."""
        path = self.newest_checkpoint
        if ckpt_path == "auto" and not path.exists():
            return None
        if ckpt_path == "last" and not path.exists():
            raise FileNotFoundError(f"ckpt_path=last but {path} does not exist; pass run_name of the run to resume")
        if ckpt_path is None and path.exists():
            raise FileExistsError(f"{self.root} holds a trained run: resume it (ckpt_path=last) or give a new run_name")
        chosen = Path(path if ckpt_path in ("last", "auto") else ckpt_path) if ckpt_path else None
        problem = damaged(chosen) if chosen is not None and chosen.exists() else None
        if problem is None:
            return str(chosen) if chosen is not None else None
        intact = self.newest_intact()
        if ckpt_path == "auto" and intact is not None:
            log.warning("%s is %s: resuming from %s, the newest intact checkpoint", chosen, problem, intact)
            return str(intact)
        hint = (
            f"the newest intact checkpoint is {intact}: resume with ckpt_path={intact}"
            if intact
            else (f"{self.checkpoints} holds no intact checkpoint: start a new run_name")
        )
        raise ValueError(f"{chosen} is {problem}; {hint}")

    def newest_intact(self) -> Path | None:
        """The most recently written checkpoint of the run that is whole."""
        found = sorted(
            [*self.checkpoints.glob("*.ckpt"), *self.root.glob("hpc_ckpt_*.ckpt")],
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        return next((p for p in found if damaged(p) is None), None)


def damaged(path: Path) -> str | None:
    """Why a checkpoint cannot be loaded, or None: torch writes a zip whose records carry checksums, so a file cut
    short (disk full, a node killed while writing) or corrupted shows without loading its tensors."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return f"truncated or not a checkpoint ({error})"
    return f"corrupt (its record {bad} fails its checksum)" if bad else None


def in_sweep() -> bool:
    """Whether this job is one of a Hydra sweep's."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


# A failed job's note in its run folder: why, on the first line (the error), then the traceback.
FAILED = "failed.txt"


def record_failure(cfg: DictConfig) -> float:
    """In a sweep, a failed job is written to its folder (``failed.txt``) and scores +inf, so the sweep goes
    on; outside one the error propagates. Called from an ``except`` block."""
    if not in_sweep():
        raise
    trace = traceback.format_exc()
    RunFolder(Path(cfg.paths.output_dir)).write_text(FAILED, trace.strip().splitlines()[-1] + "\n" + trace)
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
