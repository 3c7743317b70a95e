"""Optuna studies behind ``hparams_search=optuna``, on a current Optuna (the Hydra Optuna plugin pins optuna<3).

The study lives in a storage (a SQLite file in the sweep folder unless ``hydra.sweeper.storage`` names another,
a database or a journal file), so a sweep resumes after a kill and several workers can run trials of one study at
once: each worker claims trials until the study holds ``n_trials``; in a database it keeps a heartbeat for the ones
it runs, and a trial whose worker died is failed after the grace period and retried once with the same parameters.
Each job reports its validation metric to its trial (:class:`vasr.recipe.sweep.OptunaPruning`), and the study's
pruner stops hopeless ones.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer
from hydra.plugins.launcher import Launcher
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import Trial, TrialState

from vasr.recipe.run_folder import FAILED, RunFolder
from vasr.recipe.sweep import PRUNED_AT, TRIAL_ENV, latest, open_storage, storage_name, trial_id

log = logging.getLogger(__name__)
SURPLUS = "surplus"


def search_space(overrides: Sequence[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
    """Hydra's sweep syntax as Optuna distributions (``choice``, ``range``, ``interval``, ``tag(log, ...)``);
    overrides that sweep nothing are passed to every trial as they were written."""
    space, fixed = {}, []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.is_sweep_override():
            space[override.get_key_element()] = distribution(override)
        else:
            fixed.append(override.input_line)
    return space, fixed


def distribution(override: Override) -> BaseDistribution:
    """One sweep override as the Optuna distribution that samples it."""
    value = override.value()
    log_scale = "log" in getattr(value, "tags", ())
    if isinstance(value, ChoiceSweep):
        return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    if isinstance(value, RangeSweep):
        values = list(value.range())
        kind = IntDistribution if all(isinstance(v, int) for v in values) else FloatDistribution
        return kind(values[0], values[-1], step=value.step)
    if isinstance(value, IntervalSweep):
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log_scale)
        return FloatDistribution(float(value.start), float(value.end), log=log_scale)
    raise ValueError(f"{override.input_line}: Optuna cannot sample this sweep (use choice, range or interval)")


def suggest(trial: Trial, name: str, space: BaseDistribution) -> Any:
    """The trial's value for ``name`` (a retried trial keeps the one it had)."""
    if isinstance(space, CategoricalDistribution):
        return trial.suggest_categorical(name, space.choices)
    if isinstance(space, IntDistribution):
        return trial.suggest_int(name, space.low, space.high, step=space.step, log=space.log)
    return trial.suggest_float(name, space.low, space.high, step=space.step, log=space.log)


def claimed(study: optuna.Study, before: int | None = None) -> int:
    """Trials that count against ``n_trials``: every trial but those retried after their worker died and those a
    worker gave back; ``before``: only those numbered lower."""
    trials = study.get_trials(deepcopy=False)
    retried = {RetryHeartbeatStaleTrialCallback.retried_trial_number(t) for t in trials}
    return sum(
        1
        for t in trials
        if t.number not in retried and not t.user_attrs.get(SURPLUS) and (before is None or t.number < before)
    )


def waiting(study: optuna.Study) -> bool:
    """Whether the study holds a trial to retry (enqueued when its worker died)."""
    return bool(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


@contextmanager
def heartbeat(storage: RDBStorage, study_name: str, trials: list[Trial], seconds: int) -> Iterator[None]:
    """Records the trials' heartbeat while their jobs run, so another worker can tell when this one died."""
    stop = threading.Event()
    ids = [trial_id(storage, study_name, trial.number) for trial in trials]

    def beat() -> None:
        for id_ in ids:
            storage.record_heartbeat(id_)

    def keep_beating() -> None:
        while not stop.wait(seconds):
            beat()

    beat()
    thread = threading.Thread(target=keep_beating, name="optuna-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class OptunaSearch:
    """One worker of a study: claims trials, runs them through the launcher, tells the study what they scored."""

    def __init__(
        self,
        config: DictConfig,
        launcher: Launcher,
        validate: Callable[[Sequence[Sequence[str]]], None],
        *,
        study_name: str,
        storage: str | None,
        direction: str,
        n_trials: int,
        n_jobs: int,
        sampler: DictConfig,
        pruner: DictConfig | None,
        params: DictConfig | None,
        heartbeat_seconds: int,
        grace_seconds: int,
    ) -> None:
        # Hydra's own launcher runs one job at a time; the launcher's config group names it (hydra/launcher=basic).
        if n_jobs > 1 and OmegaConf.select(config, "hydra.runtime.choices.hydra/launcher") == "basic":
            raise ValueError(
                "hydra.sweeper.n_jobs > 1 needs a launcher that runs jobs side by side (launcher=slurm, "
                "hydra/launcher=submitit_local); or start several workers on one hydra.sweeper.storage"
            )
        self.config, self.launcher, self.validate = config, launcher, validate
        self.study_name, self.direction, self.n_trials, self.n_jobs = study_name, direction, n_trials, n_jobs
        self.sampler, self.pruner = sampler, pruner
        self.params = OmegaConf.to_container(params, resolve=True) if params else {}
        self.heartbeat_seconds = heartbeat_seconds
        self._waiting_for: list[int] = []
        self.where = storage_name(storage, config.hydra.sweep.dir)
        self.storage = open_storage(self.where, heartbeat_seconds, grace_seconds)
        # Only a database keeps heartbeats: in a journal, a dead worker's trial cannot be told from a slow one.
        self.takes_over = isinstance(self.storage, RDBStorage)

    def run(self, arguments: list[str]) -> list[Any]:
        """Trials until the study holds ``n_trials`` (this worker's and the others'); the best is written to
        ``optimization_results.yaml``."""
        space, fixed = search_space([f"{k}={v}" for k, v in self.params.items()] + list(arguments))
        study = optuna.create_study(
            study_name=self.study_name,
            storage=self.storage,
            sampler=self.make_sampler(0),
            pruner=instantiate(self.pruner) if self.pruner else None,
            direction=self.direction,
            load_if_exists=True,
        )
        log.info(
            "Optuna study %r in %s: %d of %d trials already claimed; searching %s",
            self.study_name,
            self.where,
            claimed(study),
            self.n_trials,
            ", ".join(space),
        )
        returns = []
        while True:
            batch = self.ask(study, space)
            if not batch and not (self.takes_over and self.others_running(study)):
                break
            if not batch:  # the last trials are another worker's: wait, to take them over if that worker died
                time.sleep(min(self.heartbeat_seconds, 5))
                continue
            overrides = [(*fixed, *trial_overrides(trial)) for trial in batch]
            self.validate(overrides)
            beat = heartbeat(self.storage, self.study_name, batch, self.heartbeat_seconds)
            with beat if self.takes_over else nullcontext():
                done = self.launcher.launch(overrides, initial_job_idx=batch[0].number)
            for trial, job in zip(batch, done, strict=True):
                self.tell(study, trial, job)
            returns.append(done)
        self.write_results(study)
        return returns

    def others_running(self, study: optuna.Study) -> bool:
        """Whether trials of other workers are still running (this worker's have all been told)."""
        running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
        if running and running != self._waiting_for:
            log.info("waiting for trials %s of other workers (taken over if their worker dies)", running)
        self._waiting_for = running
        return bool(running)

    def make_sampler(self, trial_number: int) -> optuna.samplers.BaseSampler:
        """The configured sampler, its seed offset by the trial number: reproducible for one worker, and two
        workers starting together do not propose the same parameters."""
        if self.sampler.get("seed") is None:
            return instantiate(self.sampler)
        return instantiate(self.sampler, seed=int(self.sampler.seed) + trial_number)

    def ask(self, study: optuna.Study, space: dict[str, BaseDistribution]) -> list[Trial]:
        """Up to ``n_jobs`` new trials while the study has room, their parameters suggested."""
        fail_stale_trials(study)
        batch = []
        while len(batch) < self.n_jobs and (claimed(study) < self.n_trials or waiting(study)):
            trial = study.ask()
            if claimed(study, before=trial.number) >= self.n_trials:  # another worker took the last one meanwhile
                trial.set_user_attr(SURPLUS, True)
                study.tell(trial, state=TrialState.FAIL)
                break
            study.sampler = self.make_sampler(trial.number)
            for name, values in space.items():
                suggest(trial, name, values)
            batch.append(trial)
        return batch

    def tell(self, study: optuna.Study, trial: Trial, job: Any) -> None:
        """The job's metric to the study: complete, pruned, or failed (a job that raised, or scored +inf or nan)."""
        try:
            value = float(job.return_value)
        except Exception as error:
            self.fail(study, trial, job, f"{type(error).__name__}: {error}")
            return
        metric = self.config.optimized_metric
        if not math.isfinite(value):
            self.fail(study, trial, job, f"{metric} is {value}: the run never validated, or does not report {metric}")
        elif PRUNED_AT in (reported := latest(study, trial.number)).user_attrs:
            log.info("trial %d pruned at step %d: %s", trial.number, reported.user_attrs[PRUNED_AT], trial.params)
            study.tell(trial, state=TrialState.PRUNED)
        else:
            log.info("trial %d: %s %.4f with %s", trial.number, metric, value, trial.params)
            study.tell(trial, value)

    def fail(self, study: optuna.Study, trial: Trial, job: Any, reason: str) -> None:
        """Fails the trial, naming why from its folder's ``failed.txt``; written here with ``reason`` when the job
        did not write it (a job that finished without a finite metric, or died before its folder was set up)."""
        note = Path(job.hydra_cfg.hydra.runtime.output_dir) / FAILED
        if not note.exists():
            RunFolder(note.parent).write_text(FAILED, reason + "\n")
        log.error("trial %d failed: %s (%s)", trial.number, note.read_text(encoding="utf-8").splitlines()[0], note)
        study.tell(trial, state=TrialState.FAIL)

    def write_results(self, study: optuna.Study) -> None:
        """``optimization_results.yaml`` in the sweep folder: the best trial and how every trial ended."""
        states = [t.state.name for t in study.get_trials(deepcopy=False) if not t.user_attrs.get(SURPLUS)]
        results: dict[str, Any] = {"name": "optuna", "study": self.study_name, "storage": self.where}
        results["trials"] = {state: states.count(state) for state in sorted(set(states))}
        if any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
            results |= {"best_trial": study.best_trial.number, "best_params": study.best_params}
            results["best_value"] = study.best_value
        path = Path(self.config.hydra.sweep.dir) / "optimization_results.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create(results), path)
        log.info("study %r: %s; %s", self.study_name, results["trials"], path)


def trial_overrides(trial: Trial) -> tuple[str, ...]:
    """The trial's parameters as overrides, and its number for the job (its folder, its pruning callback)."""
    params = (f"{name}={value}" for name, value in trial.params.items())
    return (*params, f"++hydra.job.env_set.{TRIAL_ENV}={trial.number}")
