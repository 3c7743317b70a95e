"""Side-by-side comparison of runs from their run folders alone (no network, no W&B account).

``vasr-compare RUNS_OR_SWEEP_DIR [--out DIR]`` writes ``comparison.md``, ``comparison.csv`` and
``val_wer.png``: one row per run with every metric its ``results.json`` holds and every setting of its
resolved config that differs between the runs (a sweep's varied keys whatever they are), failed runs
included. Runs of different encoders show their family, parameters (all and trained) and peak memory first;
runs scored on several test sets show each set's WER (``test/<set>/wer``).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from vasr.recipe.plots import read_metrics  # noqa: E402
from vasr.recipe.run_folder import FAILED  # noqa: E402
from vasr.recipe.sweep import PRUNED_AT  # noqa: E402

FIRST = ("val/wer", "test/wer", "test/lm_wer", "test/cer", "test/lm_cer")  # the figures people look for first
# What results.json says of the model and the run's footprint (vasr.recipe.training.model_facts, .memory.peaks).
FACTS = ("family", "parameters", "trained_parameters", "peak_ram_mb", "peak_gpu_mb")
PER_RUN = ("run_name", "paths.", "hydra.", "callbacks.", "logger.")  # differ by construction: not settings


def find_runs(root: Path) -> list[Path]:
    """Folders under ``root`` holding a run's resolved config."""
    return sorted({p.parent for p in root.rglob("config.yaml") if p.parent.name != ".hydra"})


def flatten(node, prefix: str = "") -> dict[str, object]:
    """A config tree as ``{"a.b.c": value}``."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in flatten(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): str(node) if isinstance(node, list) else node}


def summarise(folder: Path) -> tuple[dict, dict]:
    """A run's settings (flattened resolved config), and its row: metrics and status (failed, with why, when its
    ``failed.txt`` says so, though it may have finished: a sweep trial without a finite metric; pruned; done;
    unfinished)."""
    settings = flatten(OmegaConf.to_container(OmegaConf.load(folder / "config.yaml")))
    row: dict = {"run": folder.name, "status": "unfinished"}
    results = folder / "results.json"
    if results.exists():
        written = json.loads(results.read_text(encoding="utf-8"))
        numbers = {k: v for k, v in written.items() if isinstance(v, float) or k in FACTS}
        numbers |= test_set_columns(written.get("test_sets", {}))
        row |= numbers
        row["status"] = f"pruned at step {numbers[PRUNED_AT]:.0f}" if PRUNED_AT in numbers else "done"
    if (failure := folder / FAILED).exists():
        row["status"] = "failed: " + failure.read_text(encoding="utf-8").splitlines()[0]
    return settings, row


def test_set_columns(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """A run's table per test set (several corpora) as columns: ``test/<set>/wer`` and, when scored, ``lm_wer``."""
    return {f"test/{name}/{key}": row[key] for name, row in table.items() for key in ("wer", "lm_wer") if key in row}


def write_comparison(root: str | Path, out: str | Path | None = None) -> list[dict]:
    """Write the table (Markdown and CSV) and the val-WER curves of every run under ``root``."""
    root = Path(root)
    out = Path(out) if out else root
    out.mkdir(parents=True, exist_ok=True)
    runs = find_runs(root)
    if not runs:
        raise FileNotFoundError(f"no run folders (with config.yaml) under {root}")
    summaries = [summarise(folder) for folder in runs]
    keys = sorted({k for settings, _ in summaries for k in settings if not k.startswith(PER_RUN)})
    varying = [k for k in keys if len({str(settings.get(k)) for settings, _ in summaries}) > 1] or ["model.name"]
    rows = [row | {k: settings.get(k) for k in varying} for settings, row in summaries]
    metrics = sorted({k for row in rows for k in row if "/" in k or k.endswith("_seconds")} - set(FIRST) - set(varying))
    present = [k for k in (*FACTS, *FIRST) if k not in varying and any(k in row for row in rows)]
    columns = ["run", *varying, *present, *metrics, "status"]
    rows.sort(key=lambda r: (r.get("val/wer") is None, r.get("val/wer") or 0.0))
    with (out / "comparison.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    (out / "comparison.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    figure, axis = plt.subplots(figsize=(7, 4))
    for folder in runs:
        if (folder / "metrics.csv").exists() and (series := read_metrics(folder / "metrics.csv").get("val/wer")):
            axis.plot(*zip(*series, strict=True), marker=".", label=folder.name)
    axis.set(xlabel="step", ylabel="validation WER", title=f"runs under {root.name}", ylim=(0, None))
    axis.grid(alpha=0.3)
    if axis.lines:  # runs that never validated have no curve to name
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "val_wer.png", dpi=110)
    plt.close(figure)
    return rows


def _cell(value) -> str:
    if isinstance(value, float):  # small learning rates in significant figures, not rounded to 0.0001
        return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.2g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"  # parameter counts, warm-up steps
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vasr-compare", description=__doc__.split("\n")[0])
    parser.add_argument("root", help="a sweep folder (runs/train/sweep-...) or any folder of run folders")
    parser.add_argument("--out", default=None, help="where to write the table and plot (default: root)")
    args = parser.parse_args(argv)
    rows = write_comparison(args.root, args.out)
    print((Path(args.out or args.root) / "comparison.md").read_text(encoding="utf-8"))
    print(f"{len(rows)} runs compared")


if __name__ == "__main__":
    main()
