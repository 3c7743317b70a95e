"""Long runs stay bounded: RSS after each epoch and the growth of the run's log and metrics over many epochs.

python bench/long_run.py [--epochs 80] [--out runs/long_run] [--reuse]
  ->  RESULT long_run_rss <RSS after the last epoch / RSS after the middle one> (1.0: flat)
      RESULT long_run_log_growth <metrics.csv bytes per epoch, second half / first half> (1.0: linear)

A micro model trains on a synthesised corpus through train.py (validation every epoch, CSV logger, the default
callbacks); a callback records the process's RSS, and, where there is a GPU, its allocated memory, after each
epoch, with the sizes of train.log and metrics.csv. The table is ``OUT/long_run.csv``/``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import lightning as L
import torch


def rss_mib() -> float:
    """This process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class EpochMemory(L.Callback):
    """One JSON line per epoch: RSS, GPU memory, and the run's log and metrics sizes."""

    def __init__(self, path: str, run_dir: str) -> None:
        self.path, self.run_dir = Path(path), Path(run_dir)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        gpu = torch.cuda.memory_allocated() / 2**20 if torch.cuda.is_available() else None
        sizes = {
            name: (self.run_dir / name).stat().st_size
            for name in ("train.log", "metrics.csv")
            if (self.run_dir / name).exists()
        }
        row = {"epoch": trainer.current_epoch, "rss_mib": round(rss_mib(), 1), "gpu_mib": gpu, **sizes}
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--out", type=Path, default=Path("runs/long_run"))
    parser.add_argument("--reuse", action="store_true", help="summarise OUT/epochs.jsonl of an earlier run")
    args = parser.parse_args()
    rows_path = args.out / "epochs.jsonl"
    if not (args.reuse and rows_path.exists()):
        train(args.out, args.epochs, rows_path)
    summarise([json.loads(line) for line in rows_path.read_text().splitlines()], args.out)


def train(out: Path, epochs: int, rows_path: Path) -> None:
    """The long run, one row per epoch into ``rows_path``."""
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "corpus"
    if not (corpus / "manifest.jsonl").exists():
        subprocess.run([sys.executable, "-m", "vasr.synth", "--out", str(corpus), "--num", "48"], check=True)
    rows_path.unlink(missing_ok=True)
    run_dir = out / "runs" / "train" / "long"
    command = [
        sys.executable, "train.py", "model=micro", "logger=csv", "decode=greedy", "~nlu", "test_after_fit=false",
        "data=soict", f"data.manifest={corpus / 'manifest.jsonl'}", f"data.audio_dir={corpus / 'audio'}",
        "data.loader.max_seconds=20", f"trainer.max_epochs={epochs}", f"paths.runs_dir={out / 'runs'}",
        "run_name=long", "+callbacks.memory._target_=bench.long_run.EpochMemory", f"+callbacks.memory.path={rows_path}",
        f"+callbacks.memory.run_dir={run_dir}", "callbacks.progress_bar=null",
    ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def summarise(rows: list[dict], out: Path) -> None:
    """The table, the growth per epoch of the files, and the RESULT lines."""
    from common import write_table  # a sibling script; train.py imports this module as bench.long_run

    growth = {key: per_epoch(rows, key) for key in ("train.log", "metrics.csv")}
    for key, (first, second) in growth.items():
        print(f"{key}: {first:.0f} bytes per epoch in the first half, {second:.0f} in the second")
    step = max(len(rows) // 20, 1)
    shown = rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else [])
    write_table(shown, out, "long_run", lambda key, value: str(value))
    middle = rows[len(rows) // 2]
    late = [row["rss_mib"] for row in rows[len(rows) // 2 :]]
    print(
        f"RSS: {rows[0]['rss_mib']:.0f} MiB after epoch 0, {middle['rss_mib']:.0f} after epoch {middle['epoch']}, "
        f"{rows[-1]['rss_mib']:.0f} after epoch {rows[-1]['epoch']}; the second half between {min(late):.0f} and "
        f"{max(late):.0f}"
    )
    print(f"RESULT long_run_rss {rows[-1]['rss_mib'] / middle['rss_mib']:.4f}")
    first, second = growth["metrics.csv"]
    print(f"RESULT long_run_log_growth {second / max(first, 1):.4f}")


def per_epoch(rows: list[dict], key: str) -> tuple[float, float]:
    """Bytes ``key`` grew by per epoch in the first half of the run and in the second."""
    half = len(rows) // 2
    first = (rows[half - 1][key] - rows[0][key]) / max(half - 1, 1)
    second = (rows[-1][key] - rows[half][key]) / max(len(rows) - 1 - half, 1)
    return first, second


if __name__ == "__main__":
    main()
