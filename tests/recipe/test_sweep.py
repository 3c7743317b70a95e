"""What a sweep's launching process says about its jobs; the study's storage and a job's trial in it."""

import logging

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.storages import JournalStorage, RDBStorage

from vasr.recipe.sweep import PRUNED_AT, JobTrial, SweepReport, latest, open_storage, storage_name


def sweep_config(tmp_path, launcher: str | None = None):
    launched = {"launcher": {"_target_": launcher}} if launcher else {}
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, **launched}})


def test_a_submitit_sweep_says_where_each_jobs_log_is(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        SweepReport().on_multirun_start(sweep_config(tmp_path, "hydra_plugins.hydra_submitit_launcher.LocalLauncher"))
    assert f"{tmp_path}/<job>-<run_name>/ (its log: train.log there)" in caplog.text
    assert f"submitit's own job logs: {tmp_path}/.submitit/<job id>/" in caplog.text


def test_a_sweep_with_a_failed_job_exits_non_zero_naming_it(tmp_path, caplog):
    for name in ("0-a", "1-b"):
        (tmp_path / name).mkdir()
    (tmp_path / "1-b" / "failed.txt").write_text("ValueError: no such scheduler\ntraceback")
    with caplog.at_level(logging.INFO), pytest.raises(SystemExit) as ended:
        SweepReport().on_multirun_end(sweep_config(tmp_path))
    assert ended.value.code == 1
    assert "job 1-b failed: ValueError: no such scheduler" in caplog.text and "1 of 2 jobs failed" in caplog.text
    (tmp_path / "1-b" / "failed.txt").unlink()
    SweepReport().on_multirun_end(sweep_config(tmp_path))  # no exit


def test_a_log_file_is_a_journal_and_anything_else_a_database(tmp_path):
    assert isinstance(open_storage(str(tmp_path / "shared" / "study.log")), JournalStorage)
    assert (tmp_path / "shared").is_dir()
    database = open_storage(storage_name(None, str(tmp_path / "sweep")), heartbeat_seconds=30, grace_seconds=120)
    assert isinstance(database, RDBStorage) and database.url == f"sqlite:///{tmp_path / 'sweep' / 'optuna.db'}"
    assert database.get_heartbeat_interval() == 30
    assert storage_name("postgresql://db/sweeps", str(tmp_path)) == "postgresql://db/sweeps"


@pytest.mark.parametrize("name", ["study.log", "study.db"])
def test_a_job_finds_its_trial_by_number_and_what_it_reports_reaches_the_sweeper(tmp_path, name, caplog):
    where = str(tmp_path / name) if name.endswith(".log") else f"sqlite:///{tmp_path / name}"
    study = optuna.create_study(study_name="vasr", storage=open_storage(where))
    study.ask(), study.ask()
    job_storage = open_storage(where)  # the job's own, as a job in another process opens it
    trial = JobTrial(optuna.load_study(study_name="vasr", storage=job_storage), job_storage, 1)
    trial.report(0.5, step=10)
    trial.report(0.4, step=10)  # a step already reported keeps its first value, as Optuna's Trial.report does
    trial.set_user_attr(PRUNED_AT, 10)
    assert trial.number == 1 and "trial 1 already reported step 10: 0.4 kept out" in caplog.text
    assert latest(study, 1).intermediate_values == {10: 0.5} and latest(study, 1).user_attrs == {PRUNED_AT: 10}
    assert not latest(study, 0).intermediate_values


def test_a_job_s_trial_is_pruned_by_the_study_s_pruner_against_the_finished_trials(tmp_path):
    where = str(tmp_path / "study.log")
    study = optuna.create_study(study_name="vasr", storage=open_storage(where))
    finished = study.ask()
    finished.report(0.2, step=10)
    study.tell(finished, 0.2)
    study.ask(), study.ask()
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1)
    job_storage = open_storage(where)
    worse, better = (
        JobTrial(optuna.load_study(study_name="vasr", storage=job_storage, pruner=pruner), job_storage, n)
        for n in (1, 2)
    )
    worse.report(0.9, step=10)
    better.report(0.1, step=10)
    assert worse.should_prune() and not better.should_prune()
