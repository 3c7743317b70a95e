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


def test_runs_of_different_encoders_show_family_parameters_and_peak_memory_first(tmp_path):
    facts = {"val/wer": 0.5, "steps": 4.0, "skipped_batches": 0, "peak_ram_mb": 812.25}
    run_folder(
        tmp_path,
        "0-w2v_bert",
        5e-5,
        facts | {"family": "wav2vec2-bert", "parameters": 1234567, "trained_parameters": 1234567},
    )
    run_folder(
        tmp_path,
        "1-mms",
        1e-3,
        facts | {"family": "wav2vec2", "parameters": 2000000, "trained_parameters": 2500, "val/wer": 0.75},
    )
    rows = {row["run"]: row for row in write_comparison(tmp_path)}
    assert rows["0-w2v_bert"]["family"] == "wav2vec2-bert" and rows["1-mms"]["trained_parameters"] == 2500
    header, _, first, second = (tmp_path / "comparison.md").read_text(encoding="utf-8").splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[:7] == [
        "run",
        "model.optimizer.lr",
        "family",
        "parameters",
        "trained_parameters",
        "peak_ram_mb",
        "val/wer",
    ]
    assert "skipped_batches" not in columns
    assert first.startswith("| 0-w2v_bert | 5e-05 | wav2vec2-bert | 1,234,567 | 1,234,567 | 812.2500 | 0.5000 |")
    assert "| wav2vec2 | 2,000,000 | 2,500 |" in second


def test_runs_scored_on_several_test_sets_show_each_sets_wer(tmp_path):
    mixed = {"vivos": {"wer": 0.31, "cer": 0.1, "n_utterances": 760, "hours": 0.75}, "cv": {"wer": 0.42}}
    run_folder(tmp_path, "0-mix", 1e-4, {"val/wer": 0.3, "test/wer": 0.35, "test_sets": mixed})
    run_folder(tmp_path, "1-one", 2e-4, {"val/wer": 0.4, "test/wer": 0.45})
    rows = {row["run"]: row for row in write_comparison(tmp_path)}
    assert (rows["0-mix"]["test/vivos/wer"], rows["0-mix"]["test/cv/wer"]) == (0.31, 0.42)
    assert "test/vivos/wer" not in rows["1-one"] and "test/vivos/cer" not in rows["0-mix"]
    header, _, first, second = (tmp_path / "comparison.md").read_text(encoding="utf-8").splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert {"test/vivos/wer", "test/cv/wer"} <= set(columns)
    assert first.split("|")[columns.index("test/vivos/wer") + 1].strip() == "0.3100"
