import csv

import wandb

from vasr.recipe.loggers import WANDB_ID, ResumableCSVLogger, wandb_logger
from vasr.recipe.run_folder import RunFolder


def rows(folder):
    with (folder / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_resumed_run_keeps_the_metrics_written_before(tmp_path):
    first = ResumableCSVLogger(tmp_path, name="", version="")
    first.log_metrics({"train/loss": 2.0}, step=1)
    first.log_metrics({"val/wer": 0.9}, step=2)
    first.save()
    resumed = ResumableCSVLogger(tmp_path, name="", version="")
    resumed.log_metrics({"train/loss": 1.0}, step=3)
    resumed.save()
    resumed.log_metrics({"lr": 1e-3}, step=4)  # a new column rewrites the header, not the rows
    resumed.save()
    table = rows(tmp_path)
    assert [r["step"] for r in table] == ["1", "2", "3", "4"]
    assert (table[1]["val/wer"], table[2]["train/loss"], table[3]["lr"]) == ("0.9", "1.0", "0.001")


def test_wandb_id_is_written_once_the_run_exists_and_a_resumed_run_continues_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    first = wandb_logger(project="vasr", name="r", save_dir=str(tmp_path))
    run_id = (tmp_path / WANDB_ID).read_text()
    assert run_id and run_id == first.experiment.id
    first.experiment.finish()
    resumed = wandb_logger(project="vasr", name="r", save_dir=str(tmp_path))
    assert resumed.experiment.id == run_id
    resumed.experiment.finish()


def test_a_trained_folder_without_its_wandb_id_starts_a_new_run_and_says_so(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("WANDB_SILENT", "true")
    RunFolder(tmp_path).last_checkpoint.parent.mkdir()
    RunFolder(tmp_path).last_checkpoint.write_bytes(b"")
    (tmp_path / WANDB_ID).write_text("")  # as every run folder before the fix held
    logger = wandb_logger(project="vasr", name="r", save_dir=str(tmp_path))
    assert logger.experiment.id and (tmp_path / WANDB_ID).read_text() == logger.experiment.id
    assert "wandb_id.txt is missing or empty: the resumed run logs to a new W&B run" in caplog.text
    logger.experiment.finish()


def test_wandb_is_not_told_the_deprecated_anonymous_setting(tmp_path, monkeypatch):
    """Lightning hands every run it makes ``anonymous=None``, and W&B warns on each that the setting has no effect."""
    monkeypatch.setenv("WANDB_SILENT", "true")
    made, init = [], wandb.init
    monkeypatch.setattr(wandb, "init", lambda **settings: made.append(settings) or init(**settings))
    logger = wandb_logger(project="vasr", name="r", save_dir=str(tmp_path))
    logger.log_metrics({"train/loss": 1.0}, step=1)
    assert len(made) == 1 and "anonymous" not in made[0] and made[0]["dir"] == str(tmp_path)
    assert logger.experiment.id == (tmp_path / WANDB_ID).read_text() and logger.version == logger.experiment.id
    logger.experiment.finish()
