"""Optuna sweeps through train.py: pruning, one study shared by two workers, a worker killed mid-trial."""

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from tests.conftest import ROOT
from tests.e2e.test_experiments import QUICK
from tests.e2e.test_train import corpus_args, finish, launch, run
from tests.waiting import poll, running_with, sweep_space

pytestmark = pytest.mark.slow


def sweep_args(corpus: Path, *extra: str) -> list[str]:
    return ["hparams_search=optuna", *QUICK, *corpus_args(corpus), *extra]


def trials(storage: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="vasr", storage=storage).get_trials()


def trial_where(storage: str, condition: Callable[[optuna.trial.FrozenTrial], bool]) -> optuna.trial.FrozenTrial | None:
    """The first trial of the study meeting ``condition`` now; None while there is none (or no study yet)."""
    try:
        return next((t for t in trials(storage) if condition(t)), None)
    except KeyError:  # the study is not created yet
        return None


def test_hopeless_trials_are_pruned_at_their_first_validation(corpus, tmp_path):
    sweep = tmp_path / "pruned"
    run(
        "train.py",
        *sweep_args(corpus, f"hydra.sweep.dir={sweep}", "trainer.max_steps=6", "hydra.sweeper.n_trials=2"),
        # Every untrained micro model reads val at WER >= 1: a threshold of 0.5 prunes each at its first report.
        "hydra.sweeper.pruner._target_=optuna.pruners.ThresholdPruner",
        "~hydra.sweeper.pruner.n_startup_trials",
        "~hydra.sweeper.pruner.n_warmup_steps",
        "+hydra.sweeper.pruner.upper=0.5",
    )
    done = trials(f"sqlite:///{sweep / 'optuna.db'}")
    assert [t.state for t in done] == [TrialState.PRUNED] * 2
    assert all(t.intermediate_values == {2: pytest.approx(t.intermediate_values[2])} for t in done)
    for folder in sorted(p for p in sweep.iterdir() if p.is_dir()):
        results = json.loads((folder / "results.json").read_text())
        assert results["pruned_at_step"] == 2 and results["steps"] == 2  # stopped, of 6
        assert not (folder / "export").exists()  # nothing spent on a hopeless trial
    assert "PRUNED: 2" in (sweep / "optimization_results.yaml").read_text()


def test_two_workers_share_one_study_and_finish_it_when_one_is_killed(corpus, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    RDBStorage(storage)  # its tables made here, not by the first poll racing the first worker to make them
    sweep = tmp_path / "sweep"
    args = sweep_args(
        corpus,
        f"hydra.sweep.dir={sweep}",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.heartbeat_seconds=1",
        "hydra.sweeper.grace_seconds=4",
        "hydra.sweeper.pruner=null",  # every trial runs to the end
        "trainer.max_steps=6",
    )
    parameters = sweep_space(args)  # what each trial is given, as the sweeper reads this sweep
    command = [sys.executable, str(ROOT / "train.py"), *args]
    # The doomed worker's trial 0 stops after its first validation (step 2) and waits to be killed: mid-trial.
    hold = [
        "+callbacks.hold._target_=tests.hold.HoldAt",
        "+callbacks.hold.step=3",
        f"+callbacks.hold.marker={tmp_path}/held",
    ]
    doomed = launch([*command, *hold])
    poll(
        lambda: trial_where(storage, lambda t: running_with(t, 0, parameters)),
        "the doomed worker's trial 0 with its parameters",
        300,
        doomed,
    )
    survivor = launch(command)
    first = poll(
        lambda: trial_where(storage, lambda t: running_with(t, 0, parameters) and bool(t.intermediate_values)),
        "trial 0's first val WER",
        300,
        doomed,
    )
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.communicate()
    finish(survivor, timeout=600)

    everything = trials(storage)
    complete = [t for t in everything if t.state == TrialState.COMPLETE]
    failed = [t for t in everything if t.state == TrialState.FAIL]
    assert len(complete) == 4, [(t.number, t.state) for t in everything]
    assert len(failed) == 1  # the killed worker's trial, taken over by the survivor with the same parameters
    assert failed[0].number == first.number
    retry = next(t for t in complete if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == first.number)
    assert retry.params == first.params
    params = [tuple(sorted(t.params.items())) for t in complete]
    assert len(set(params)) == 4  # no trial twice
    for trial in complete:
        assert len(list(sweep.glob(f"{trial.number}-*/results.json"))) == 1
