"""Side-by-side comparison of runs from their run folders alone (no network, no W&B account).

``python -m vasr.tools.compare RUNS_OR_SWEEP_DIR [--out DIR]`` writes ``comparison.md``,
``comparison.csv`` and ``val_wer.png``: one row per run with its final metrics and the
hyper-parameters that differ between runs, failed runs included.
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

SHOWN = ("model.name", "model.pretrained", "model.optimizer.lr", "vocab.strategy", "data.numbers", "seed")
METRICS = ("val/wer", "test/wer", "test/cer")


def find_runs(root: Path) -> list[Path]:
    """Folders under ``root`` holding a run's resolved config."""
    return sorted({p.parent for p in root.rglob("config.yaml") if p.parent.name != ".hydra"})


def summarise(folder: Path) -> dict:
    """One row: chosen hyper-parameters, final metrics, status."""
    cfg = OmegaConf.load(folder / "config.yaml")
    row: dict = {"run": folder.name}
    for key in SHOWN:
        row[key] = OmegaConf.select(cfg, key)
    results = folder / "results.json"
    failure = folder / "failed.txt"
    if results.exists():
        values = json.loads(results.read_text())
        row |= {key: values.get(key) for key in METRICS}
        row["status"] = "done"
    else:
        row["status"] = "failed: " + failure.read_text().splitlines()[0] if failure.exists() else "unfinished"
    return row


def write_comparison(root: str | Path, out: str | Path | None = None) -> list[dict]:
    """Write the table (Markdown and CSV) and the val-WER curves of every run under ``root``."""
    root = Path(root)
    out = Path(out) if out else root
    out.mkdir(parents=True, exist_ok=True)
    runs = find_runs(root)
    if not runs:
        raise FileNotFoundError(f"no run folders (with config.yaml) under {root}")
    rows = [summarise(folder) for folder in runs]
    varying = [k for k in SHOWN if len({str(r[k]) for r in rows}) > 1] or list(SHOWN[:1])
    columns = ["run", *varying, *METRICS, "status"]
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
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "val_wer.png", dpi=110)
    plt.close(figure)
    return rows


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "" if value is None else str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vasr.tools.compare", description=__doc__.split("\n")[0])
    parser.add_argument("root", help="a sweep folder (runs/train/sweep-...) or any folder of run folders")
    parser.add_argument("--out", default=None, help="where to write the table and plot (default: root)")
    args = parser.parse_args(argv)
    rows = write_comparison(args.root, args.out)
    print((Path(args.out or args.root) / "comparison.md").read_text(encoding="utf-8"))
    print(f"{len(rows)} runs compared")


if __name__ == "__main__":
    main()
