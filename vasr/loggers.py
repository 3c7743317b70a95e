"""The run's loggers: a CSV logger that survives resuming (Lightning's deletes ``metrics.csv`` when a run
starts again), and W&B offline by default."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only


class _KeepingWriter(ExperimentWriter):
    """Continues an existing ``metrics.csv``: its header seeds the known columns, its rows stay."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as handle:
                self.metrics_keys = next(csv.reader(handle), [])


class ResumableCSVLogger(CSVLogger):
    """``CSVLogger`` whose ``metrics.csv`` keeps the rows written before a crash or a resume."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(log_dir=self.log_dir)
        return self._experiment


def wandb_logger(
    project: str, name: str, save_dir: str, mode: str = "offline", group: str | None = None, tags: Sequence[str] = ()
) -> WandbLogger:
    """W&B, offline unless told otherwise; a resumed run continues its W&B run (id kept in ``wandb_id.txt``),
    and a sweep's jobs are grouped by their sweep folder."""
    folder = Path(save_dir)
    id_file = folder / "wandb_id.txt"
    resume_id = id_file.read_text().strip() if id_file.exists() else None
    group = group or (folder.parent.name if "sweep" in folder.parent.name else None)
    logger = WandbLogger(
        project=project,
        name=name,
        group=group,
        tags=list(tags),
        mode=mode,
        save_dir=str(folder),
        id=resume_id,
        resume="allow" if resume_id else None,
    )
    if rank_zero_only.rank == 0 and mode != "disabled":
        folder.mkdir(parents=True, exist_ok=True)
        id_file.write_text(logger.version or "")
    return logger
