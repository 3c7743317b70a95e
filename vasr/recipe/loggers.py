"""The run's loggers: a CSV logger that survives resuming (Lightning's deletes ``metrics.csv`` when a run
starts again), and W&B offline by default."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from vasr.recipe.run_folder import RunFolder

log = logging.getLogger("vasr")
# The W&B run id of the run folder's run, read when it resumes.
WANDB_ID = "wandb_id.txt"


class ResumableCSVLogger(Logger):
    """``metrics.csv`` in the run folder, one row per logged step, kept across crashes and resumes.

    Lightning's ``CSVLogger`` deletes an existing ``metrics.csv`` when a run starts again; this one
    continues it. Built on Lightning's public ``Logger`` interface alone.
    """

    def __init__(self, save_dir: str | Path, name: str = "", version: str = "", flush_logs_every_n_steps: int = 10):
        super().__init__()
        self._save_dir = Path(save_dir)
        self._name, self._version = name, version
        self.flush_every = flush_logs_every_n_steps
        self.path = self._save_dir / "metrics.csv"
        self._pending: list[dict[str, float]] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self._version

    @property
    def save_dir(self) -> str:
        return str(self._save_dir)

    @property
    def log_dir(self) -> str:
        return str(self._save_dir)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """The run folder's ``config.yaml`` holds the configuration; nothing to add here."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._pending.append({"step": step, **{k: float(v) for k, v in metrics.items()}})
        if len(self._pending) >= self.flush_every:
            self.save()

    @rank_zero_only
    def save(self) -> None:
        """Append the pending rows; a new column rewrites the file with the wider header, rows kept."""
        if not self._pending:
            return
        rows, columns = [], []
        if self.path.exists():
            with self.path.open(newline="") as handle:
                reader = csv.DictReader(handle)
                columns, rows = list(reader.fieldnames or []), list(reader)
        new = [key for row in self._pending for key in row if key not in columns]
        columns += list(dict.fromkeys(new))
        self._save_dir.mkdir(parents=True, exist_ok=True)
        if new:
            with self.path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows + self._pending)
        else:
            with self.path.open("a", newline="") as handle:
                csv.DictWriter(handle, fieldnames=columns).writerows(self._pending)
        self._pending = []

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()


def wandb_logger(
    project: str, name: str, save_dir: str, mode: str = "offline", group: str | None = None, tags: Sequence[str] = ()
) -> WandbLogger:
    """W&B, offline unless told otherwise; a resumed run continues its W&B run (id kept in ``wandb_id.txt``),
    and a sweep's jobs are grouped by their sweep folder."""
    folder = Path(save_dir)
    writer = rank_zero_only.rank == 0
    resume_id = read_wandb_id(folder) if mode != "disabled" and writer else None
    group = group or (folder.parent.name if "sweep" in folder.parent.name else None)
    settings = {"group": group, "tags": list(tags), "mode": mode, "resume": "allow" if resume_id else None}
    experiment = None
    if writer:
        folder.mkdir(parents=True, exist_ok=True)
        experiment = wandb_run(project=project, name=name, dir=str(folder), id=resume_id, **settings)
        if mode != "disabled":
            (folder / WANDB_ID).write_text(experiment.id)
    return WandbLogger(
        project=project, name=name, save_dir=str(folder), id=resume_id, experiment=experiment, **settings
    )


def wandb_run(**settings: Any) -> Any:
    """The W&B run (``wandb.init``'s arguments), made here and handed to Lightning as its ``experiment``: a run
    Lightning makes gets W&B's deprecated ``anonymous`` setting (Lightning always passes it, as None) and W&B warns
    about it on every run. Made now, the run's id is known before training (``wandb_id.txt``); its metrics are
    plotted against the trainer's step, as Lightning sets up a run it makes itself."""
    import wandb

    run = wandb.init(**settings)
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def read_wandb_id(folder: Path) -> str | None:
    """The W&B run id a resumed run continues; None (a new W&B run, said when the folder already trained) when the
    folder has none."""
    id_file = folder / WANDB_ID
    resume_id = id_file.read_text().strip() if id_file.exists() else ""
    if not resume_id and RunFolder(folder).last_checkpoint.exists():
        log.warning("%s is missing or empty: the resumed run logs to a new W&B run", id_file)
    return resume_id or None
