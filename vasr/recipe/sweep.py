"""Sweeps, seen from both sides: what the launching process says (where each job and its log go, which jobs failed,
its exit code), and what a job of an Optuna sweep knows of its trial (where the study is stored, which trial it
runs, when it is pruned and the marker saying so). :mod:`vasr.recipe.optuna_search` runs the study on top of it."""

from __future__ import annotations

import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import optuna
from hydra.experimental.callback import Callback
from hydra.utils import instantiate
from omegaconf import DictConfig
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

from vasr.recipe.run_folder import FAILED

log = logging.getLogger(__name__)
# The sweeper hands each job its trial number in this variable (``hydra.job.env_set``); the sweep's subdir names it.
TRIAL_ENV = "VASR_OPTUNA_TRIAL"
# Where an Optuna trial was pruned: the trial's user attribute and the run's results key.
PRUNED_AT = "pruned_at_step"
JOURNAL = ".log"  # a storage naming a file with this suffix is an Optuna journal file
# Heartbeats, stale-trial retries and asking trials outside Study.optimize are what several workers need; Optuna
# flags the first two as experimental since 2.8 and warns on the third.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


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


def storage_name(storage: str | None, sweep_dir: str) -> str:
    """The study's storage as named: the one given, else a SQLite file in the sweep folder."""
    if storage:
        return storage
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(sweep_dir).resolve() / 'optuna.db'}"


def open_storage(name: str, heartbeat_seconds: int | None = None, grace_seconds: int | None = None) -> BaseStorage:
    """The storage ``name`` names: a file ending in ``.log`` is an Optuna journal (appends under a lock file, for
    shared file systems whose locking SQLite cannot trust), anything else a database URL. Only a database keeps
    heartbeats, so only there is a trial whose worker died failed after ``grace_seconds`` and retried once."""
    if "://" not in name and name.endswith(JOURNAL):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(name))
    if heartbeat_seconds is None:
        return RDBStorage(name)
    return RDBStorage(
        name,
        heartbeat_interval=heartbeat_seconds,
        grace_period=grace_seconds,
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
    )


def trial_id(storage: BaseStorage, study_name: str, number: int) -> int:
    """The storage's id of trial ``number`` of the study, by which a trial is addressed outside ``Study.ask``."""
    return storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(study_name), number)


def latest(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    """Trial ``number`` as the storage holds it now, with what its job reported (a running trial's own handle
    reads a cache)."""
    return next(t for t in study.get_trials(deepcopy=False) if t.number == number)


class JobTrial:
    """A trial of the study as the job running it sees it, in the job's own process: what it reports, whether the
    study's pruner stops it, and its attributes, written through the storage. Optuna hands a running trial only to
    the process that asked for it (its ``Trial`` constructor is not for users, optuna/optuna#2987); these three
    are what ``Trial.report``, ``Trial.should_prune`` and ``Trial.set_user_attr`` do, on Optuna's public storage
    API."""

    def __init__(self, study: optuna.Study, storage: BaseStorage, number: int) -> None:
        self.study, self.storage, self.number = study, storage, number
        self.id = trial_id(storage, study.study_name, number)

    def report(self, value: float, step: int) -> None:
        """``value`` at ``step``; a step already reported keeps its first value (as ``Trial.report``), said."""
        if step in self.storage.get_trial(self.id).intermediate_values:
            log.warning("trial %d already reported step %d: %s kept out", self.number, step, value)
            return
        self.storage.set_trial_intermediate_value(self.id, step, float(value))

    def should_prune(self) -> bool:
        """The study's pruner's verdict on what the trial has reported so far."""
        return self.study.pruner.prune(self.study, self.storage.get_trial(self.id))

    def set_user_attr(self, key: str, value: Any) -> None:
        self.storage.set_trial_user_attr(self.id, key, value)


def job_trial() -> JobTrial | None:
    """This job's trial of the sweep's study (None outside an Optuna sweep)."""
    from hydra.core.hydra_config import HydraConfig

    if TRIAL_ENV not in os.environ or not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    sweeper = hydra.sweeper
    storage = open_storage(storage_name(sweeper.storage, hydra.sweep.dir))
    study = optuna.load_study(
        study_name=sweeper.study_name,
        storage=storage,
        pruner=instantiate(sweeper.pruner) if sweeper.get("pruner") else None,
    )
    return JobTrial(study, storage, int(os.environ[TRIAL_ENV]))


class OptunaPruning(L.Callback):
    """Reports each validation's ``monitor`` to the job's trial and stops training when the study's pruner judges
    the trial hopeless; rank 0 asks, every rank stops. A no-op outside an Optuna sweep."""

    def __init__(self, monitor: str = "val/wer") -> None:
        self.monitor = monitor
        self.trial = None
        self.pruned_at: int | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero:
            self.trial = job_trial()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        prune = False
        value = trainer.callback_metrics.get(self.monitor)
        if self.trial is not None and value is not None and math.isfinite(float(value)):
            self.trial.report(float(value), trainer.global_step)
            prune = self.trial.should_prune()
        if not trainer.strategy.broadcast(prune):
            return
        self.pruned_at = trainer.global_step
        if self.trial is not None:
            self.trial.set_user_attr(PRUNED_AT, trainer.global_step)
            log.info("trial %d pruned at step %d (%s %.4f)", self.trial.number, self.pruned_at, self.monitor, value)
        trainer.should_stop = True
