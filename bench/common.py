"""Helpers shared by the benchmarks: the demo corpus's durations and a real-corpus-shaped sample."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vasr.data.manifest import read_manifest


def demo_durations(manifest: str = "data/demo/manifest.jsonl", audio_dir: str = "data/demo/audio") -> list[float]:
    """Header durations of the demo corpus (make it with `python -m vasr.synth --out data/demo`)."""
    items, _ = read_manifest(manifest, audio_dir)
    return [item.duration for item in items]


def real_shaped_durations(n: int, seed: int = 0) -> list[float]:
    """Log-normal around 3.5 s with a long tail to ~15 s, like SoICT SLU's few-second commands."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(mean=np.log(3.5), sigma=0.35, size=n), 1.0, 15.0).tolist()


def write_table(rows: list[dict], out: Path, stem: str, cell: Callable[[str, object], str]) -> None:
    """``rows`` as ``out/stem.csv`` and as a Markdown table ``out/stem.md`` (each value through ``cell``), printed;
    ``out`` made if missing."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(cell(k, v) for k, v in row.items()) + " |" for row in rows]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
