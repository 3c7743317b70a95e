"""The waits of the tests that drive other processes, on the early states a loaded machine shows them."""

import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from tests.waiting import complete_lines, poll, running_with, sweep_space
from vasr.recipe.optuna_search import suggest

SWEEP = ["hparams_search=optuna", "model=micro"]


def test_a_trial_stored_before_the_sweeper_suggested_each_parameter_is_not_yet_running_with_them():
    space = sweep_space(SWEEP)
    study = optuna.create_study()
    trial = study.ask()
    seen = [study.get_trials()[0]]  # stored, no parameter yet: what the sweep test once compared with
    for name, distribution in space.items():  # as the sweeper suggests them, one at a time
        suggest(trial, name, distribution)
        seen.append(study.get_trials()[0])
    assert seen[0].state == TrialState.RUNNING and seen[0].params == {}
    assert [running_with(t, 0, space) for t in seen] == [False] * len(space) + [True]
    assert not running_with(seen[-1], 1, space)
    study.tell(trial, 0.5)
    assert not running_with(study.get_trials()[0], 0, space)  # finished: no longer the running trial


def test_a_sweep_override_on_the_command_line_is_a_parameter_too():
    space = sweep_space([*SWEEP, "trainer.max_steps=choice(4,6)", "seed=3"])
    assert set(space) == set(sweep_space(SWEEP)) | {"trainer.max_steps"}
    assert list(space["trainer.max_steps"].choices) == [4, 6]


def test_only_the_lines_a_writer_has_finished_are_read(tmp_path):
    path = tmp_path / "batches.jsonl"
    assert complete_lines(path) == []  # not created yet
    path.write_bytes(b'{"step": 0}\n{"step": 1}\n{"st')
    assert complete_lines(path) == ['{"step": 0}', '{"step": 1}']
    path.write_bytes("requeue 4243\nđ".encode()[:-1])  # half of a two-byte character
    assert complete_lines(path) == ["requeue 4243"]
    path.write_bytes(b"requeue 4243")  # created and written, its newline not yet
    assert complete_lines(path) == []


def test_poll_returns_the_first_ready_value():
    answers = iter([None, [], ["line"]])
    assert poll(lambda: next(answers), "a line", timeout=5) == ["line"]


def test_poll_finds_a_state_written_just_before_the_process_ended(tmp_path):
    marker = tmp_path / "marker"
    process = subprocess.Popen([sys.executable, "-c", f"open({str(marker)!r}, 'w').write('held\\n')"])
    process.wait()
    assert poll(lambda: complete_lines(marker), "the marker", timeout=5, process=process) == ["held"]


def test_poll_fails_once_the_process_ended_without_the_state(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(pytest.fail.Exception, match=r"the marker: the process ended first \(exit 3\)"):
        poll(lambda: complete_lines(tmp_path / "marker"), "the marker", timeout=60, process=process)


def test_poll_fails_past_its_timeout():
    with pytest.raises(pytest.fail.Exception, match="a line: not within 0.3 s"):
        poll(lambda: None, "a line", timeout=0.3)
