"""Waiting in a test for another process: polled for the state the test's assertions read, not for a sign that the
state is on its way (a file exists before its writer has written it, an Optuna trial before its parameters)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from tests.conftest import ROOT
from vasr.recipe.optuna_search import search_space

T = TypeVar("T")
EVERY = 0.2  # seconds between two looks


def poll(ready: Callable[[], T], what: str, timeout: float, process: subprocess.Popen | None = None) -> T:
    """``ready()``'s first truthy value, asked every ``EVERY`` s; the test fails naming ``what`` past ``timeout``, or
    once ``process`` has ended without it. ``ready`` is asked once more after the end is seen, so a state written
    just before the process exited is found."""
    deadline = time.monotonic() + timeout
    while True:
        ended = process is not None and process.poll() is not None
        value = ready()
        if value:
            return value
        if ended:
            pytest.fail(f"{what}: the process ended first (exit {process.returncode})")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(EVERY)


def complete_lines(path: Path) -> list[str]:
    """The lines of ``path`` its writer has finished, each ended by a newline (the last may be half written, a
    UTF-8 character included); none while the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return data[: data.rfind(b"\n") + 1].decode("utf-8").splitlines()


def running_with(trial: FrozenTrial, number: int, parameters: Collection[str]) -> bool:
    """Whether ``trial`` is trial ``number``, running, with each of ``parameters`` suggested: the sweeper stores a
    trial before it suggests its parameters one at a time, so a trial read in between has only some of them."""
    return trial.number == number and trial.state == TrialState.RUNNING and set(trial.params) == set(parameters)


def sweep_space(overrides: Collection[str]) -> dict[str, BaseDistribution]:
    """The parameters each trial of ``train.py OVERRIDES`` (an Optuna sweep) is given, and how each is sampled: the
    config's ``hydra.sweeper.params`` and the sweeps among the overrides, read as the sweeper reads them."""
    sweeps, fixed = search_space(list(overrides))  # Hydra's compose takes no sweep: the sweeper gets them
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=fixed, return_hydra_config=True)
    params = OmegaConf.to_container(cfg.hydra.sweeper.params, resolve=True) or {}
    return search_space([f"{k}={v}" for k, v in params.items()])[0] | sweeps
