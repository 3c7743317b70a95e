"""What a sweep's launching process says: where each job and its log go, which jobs failed, and its exit code."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)
FAILED = "failed.txt"  # written by vasr.recipe.run_folder.record_failure into a failed job's folder


class SweepReport(Callback):
    """A Hydra callback (``hydra.callbacks``): a sweep goes on past a failed job, then exits non-zero naming it."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        where = f"each job writes {sweep}/<job>-<run_name>/ (its log: train.log there)"
        if "submitit" in str(config.hydra.launcher.get("_target_", "")):
            where += f"; submitit's own job logs: {sweep}/.submitit/<job id>/"
        log.info("sweep folder %s: %s", sweep, where)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        failed = sorted(sweep.glob(f"*/{FAILED}"))
        jobs = [p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")] if sweep.exists() else []
        if not failed:
            log.info("sweep done: %d jobs in %s; compare them with vasr-compare %s", len(jobs), sweep, sweep)
            return
        for path in failed:
            reason = path.read_text(encoding="utf-8").splitlines()[0]
            log.error("job %s failed: %s (%s)", path.parent.name, reason, path)
        log.error("%d of %d jobs failed; the others ran: vasr-compare %s", len(failed), len(jobs), sweep)
        raise SystemExit(1)
