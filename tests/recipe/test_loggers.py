import csv

from vasr.recipe.loggers import ResumableCSVLogger


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
