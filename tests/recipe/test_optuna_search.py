"""The Optuna sweeper's pieces: Hydra's sweep syntax as distributions, budgets shared by workers (in a journal file
too), failed trials that say why."""

import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from vasr.recipe.optuna_search import SURPLUS, OptunaSearch, claimed, search_space
from vasr.recipe.run_folder import FAILED, RunFolder
from vasr.recipe.sweep import open_storage


def test_hydra_sweep_syntax_becomes_optuna_distributions():
    space, fixed = search_space(
        [
            "model.optimizer.lr=tag(log, interval(1e-4, 5e-3))",
            "model.dropout=interval(0.0, 0.2)",
            "model.layers=int(interval(2, 8))",
            "trainer.accumulate_grad_batches=range(1, 9, 2)",
            "vocab=choice(corpus, union)",
            "data.loader.batch_size=8,16",
            "model=micro",
            "+trainer.gradient_clip_val=1.0",
        ]
    )
    assert space == {
        "model.optimizer.lr": FloatDistribution(1e-4, 5e-3, log=True),
        "model.dropout": FloatDistribution(0.0, 0.2),
        "model.layers": IntDistribution(2, 8),
        "trainer.accumulate_grad_batches": IntDistribution(1, 7, step=2),
        "vocab": CategoricalDistribution(["corpus", "union"]),
        "data.loader.batch_size": CategoricalDistribution([8, 16]),
    }
    assert fixed == ["model=micro", "+trainer.gradient_clip_val=1.0"]  # passed to every trial as written


def test_a_worker_that_gave_a_trial_back_does_not_count_it():
    study = optuna.create_study()
    for _ in range(3):
        study.tell(study.ask(), 1.0)
    surplus = study.ask()
    surplus.set_user_attr(SURPLUS, True)
    study.tell(surplus, state=TrialState.FAIL)
    running = study.ask()
    assert claimed(study) == 4  # 3 told and 1 running; the given-back trial is not one
    assert claimed(study, before=running.number) == 3


def test_a_sweep_that_optuna_cannot_sample_is_named():
    with pytest.raises(ValueError, match="glob"):
        search_space(["+callbacks=glob(*)"])


def search(
    tmp_path: Path, launcher, storage: str | None, n_trials: int, n_jobs: int = 1, launcher_choice: str = "basic"
) -> OptunaSearch:
    """One worker of the study ``vasr``, sampling ``lr`` at random; ``launcher_choice`` is the ``hydra/launcher``
    config Hydra composed."""
    hydra = {"sweep": {"dir": str(tmp_path / "sweep")}, "runtime": {"choices": {"hydra/launcher": launcher_choice}}}
    config = OmegaConf.create({"optimized_metric": "val/wer", "hydra": hydra})
    return OptunaSearch(
        config,
        launcher,
        lambda overrides: None,
        study_name="vasr",
        storage=storage,
        direction="minimize",
        n_trials=n_trials,
        n_jobs=n_jobs,
        sampler=OmegaConf.create({"_target_": "optuna.samplers.RandomSampler", "seed": 0}),
        pruner=None,
        params=OmegaConf.create({"lr": "interval(0.1, 1.0)"}),
        heartbeat_seconds=1,
        grace_seconds=2,
    )


class Launcher:
    """Hydra's launcher for jobs that score ``score(trial number, lr)``, each in the folder named by its trial."""

    def __init__(self, sweep: Path, score: Callable[[int, float], float]) -> None:
        self.sweep, self.score = sweep, score
        self.ran: list[int] = []

    def launch(self, overrides: list[list[str]], initial_job_idx: int) -> list[JobReturn]:
        jobs = []
        for number, job_overrides in enumerate(overrides, initial_job_idx):
            runtime = {"output_dir": str(self.sweep / str(number))}
            job = JobReturn(overrides=job_overrides, hydra_cfg=OmegaConf.create({"hydra": {"runtime": runtime}}))
            job.status = JobStatus.COMPLETED
            lr = next(float(o.split("=")[1]) for o in job_overrides if o.startswith("lr="))
            job.return_value = self.score(number, lr)
            self.ran.append(number)
            jobs.append(job)
        return jobs


class Meeting(Launcher):
    """A launcher whose first job waits until the other worker's has started: both hold a trial at once."""

    def __init__(self, sweep: Path, mine: threading.Event, theirs: threading.Event) -> None:
        super().__init__(sweep, lambda number, lr: lr)
        self.mine, self.theirs = mine, theirs

    def launch(self, overrides: list[list[str]], initial_job_idx: int) -> list[JobReturn]:
        if not self.mine.is_set():
            self.mine.set()
            assert self.theirs.wait(120), "the other worker never started a trial"
        return super().launch(overrides, initial_job_idx)


def test_jobs_side_by_side_through_hydra_s_one_at_a_time_launcher_are_refused(tmp_path):
    launcher = Launcher(tmp_path / "sweep", lambda number, lr: lr)
    with pytest.raises(ValueError, match="n_jobs > 1 needs a launcher that runs jobs side by side"):
        search(tmp_path, launcher, None, 2, n_jobs=2)
    search(tmp_path, launcher, None, 2, n_jobs=2, launcher_choice="submitit_local")
    search(tmp_path, launcher, None, 2, n_jobs=1)


def test_two_workers_share_one_study_in_a_journal_file(tmp_path):
    storage = str(tmp_path / "shared" / "study.log")
    first, second = threading.Event(), threading.Event()
    launchers = [Meeting(tmp_path / "sweep", first, second), Meeting(tmp_path / "sweep", second, first)]
    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(search(tmp_path, launcher, storage, 5).run, []) for launcher in launchers]:
            done.result()
    study = optuna.load_study(study_name="vasr", storage=open_storage(storage))
    # a trial both workers asked for at once past the fifth is given back (failed, marked surplus), never run
    surplus = [t for t in study.get_trials() if t.user_attrs.get(SURPLUS)]
    assert all(t.state == TrialState.FAIL for t in surplus) and len(surplus) <= 1
    assert [t.state for t in study.get_trials() if t not in surplus] == [TrialState.COMPLETE] * 5
    assert all(launcher.ran for launcher in launchers)  # each worker ran trials, none ran one twice
    assert sorted(launchers[0].ran + launchers[1].ran) == [0, 1, 2, 3, 4]
    results = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    scored = [t.value for t in study.get_trials() if t not in surplus]
    assert results.storage == storage and results.best_value == min(scored)


def test_a_failed_trial_says_why_in_its_folder(tmp_path, caplog):
    def score(number: int, lr: float) -> float:
        if number == 1:  # the job failed and wrote why, as vasr.recipe.run_folder.record_failure does
            RunFolder(tmp_path / "sweep" / "1").write_text(FAILED, "ValueError: no such scheduler\ntraceback")
            return math.inf
        return math.nan if number == 0 else lr  # trial 0 finished without a val/wer

    with caplog.at_level(logging.ERROR):
        search(tmp_path, Launcher(tmp_path / "sweep", score), None, 3).run([])
    study = optuna.load_study(study_name="vasr", storage=f"sqlite:///{tmp_path / 'sweep' / 'optuna.db'}")
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
    why = (tmp_path / "sweep" / "0" / FAILED).read_text(encoding="utf-8")
    assert why.startswith("val/wer is nan: the run never validated")
    assert "trial 0 failed: val/wer is nan" in caplog.text and str(tmp_path / "sweep" / "0" / FAILED) in caplog.text
    assert "trial 1 failed: ValueError: no such scheduler" in caplog.text  # the job's own note is kept
