"""vasr-compare's table: every run folder with its metrics, the settings that differ, and how it ended."""

import json

from omegaconf import OmegaConf

from vasr.recipe.run_folder import FAILED
from vasr.recipe.sweep import PRUNED_AT
from vasr.tools.compare import write_comparison


def run_folder(root, name: str, lr: float, results: dict | None = None, failed: str | None = None) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    OmegaConf.save(
        OmegaConf.create({"run_name": name, "model": {"name": "tiny", "optimizer": {"lr": lr}}}), folder / "config.yaml"
    )
    if results is not None:
        (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    if failed is not None:
        (folder / FAILED).write_text(failed, encoding="utf-8")


def test_each_run_is_listed_as_it_ended(tmp_path):
    run_folder(tmp_path, "0-done", 1e-4, {"val/wer": 0.25, "steps": 40.0})
    run_folder(tmp_path, "1-pruned", 2e-4, {"val/wer": 0.9, PRUNED_AT: 20.0})
    # a trial that finished without its metric: its results exist, the sweeper's note says it failed
    run_folder(tmp_path, "2-nan", 3e-4, {"val/wer": float("nan")}, "val/wer is nan: the run never validated\n")
    run_folder(tmp_path, "3-raised", 4e-4, failed="ValueError: no such scheduler\ntraceback")
    run_folder(tmp_path, "4-running", 5e-4)
    rows = {row["run"]: row for row in write_comparison(tmp_path)}
    assert rows["0-done"]["status"] == "done" and rows["0-done"]["val/wer"] == 0.25
    assert rows["1-pruned"]["status"] == "pruned at step 20"
    assert rows["2-nan"]["status"] == "failed: val/wer is nan: the run never validated"
    assert rows["3-raised"]["status"] == "failed: ValueError: no such scheduler"
    assert rows["4-running"]["status"] == "unfinished"
    assert rows["3-raised"]["model.optimizer.lr"] == 4e-4  # the setting that differs between the runs
    table = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    assert "| 2-nan | 0.0003 |" in table and "failed: val/wer is nan" in table
