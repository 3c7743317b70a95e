"""What a sweep's launching process says about its jobs."""

import logging

import pytest
from omegaconf import OmegaConf

from vasr.recipe.sweep import SweepReport


def sweep_config(tmp_path, launcher: str):
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "launcher": {"_target_": launcher}}})


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
        SweepReport().on_multirun_end(sweep_config(tmp_path, "hydra._internal.core_plugins.basic_launcher"))
    assert ended.value.code == 1
    assert "job 1-b failed: ValueError: no such scheduler" in caplog.text and "1 of 2 jobs failed" in caplog.text
    (tmp_path / "1-b" / "failed.txt").unlink()
    SweepReport().on_multirun_end(sweep_config(tmp_path, "hydra._internal.core_plugins.basic_launcher"))  # no exit
