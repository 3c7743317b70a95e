"""Curves a person would rather look at than a CSV: loss and WER over steps."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_metrics(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """Lightning's metrics.csv as {metric: [(step, value), ...]}, empty cells skipped."""
    series: dict[str, list[tuple[float, float]]] = {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            step = float(row.get("step") or 0)
            for key, value in row.items():
                if key not in ("step", "epoch") and value not in ("", None):
                    series.setdefault(key, []).append((step, float(value)))
    return series


def plot_curves(metrics_csv: str | Path, out: str | Path) -> Path:
    """Two panels, train/val loss and val WER/CER (and WER with the n-gram LM), against optimizer steps."""
    series = read_metrics(metrics_csv)
    figure, (loss_ax, wer_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("train/loss", "val/loss"):
        if key in series:
            loss_ax.plot(*zip(*series[key], strict=True), label=key, marker="." if key.startswith("val") else None)
    for key in ("val/wer", "val/cer", "val/lm_wer"):
        if key in series:
            wer_ax.plot(*zip(*series[key], strict=True), label=key, marker=".")
    loss_ax.set(xlabel="step", ylabel="CTC loss", title="loss", yscale="log")
    wer_ax.set(xlabel="step", ylabel="error rate", title="validation WER / CER", ylim=(0, None))
    for axis in (loss_ax, wer_ax):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:  # a run shorter than one validation has no WER to plot
            axis.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return Path(out)
