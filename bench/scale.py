"""Start-up time and memory at 10k to millions of utterances, and DataLoader workers' memory over a long stretch.

A synthetic corpus of N hard links to a few short WAVs, with durations in the manifest (as vasr-prepare, NeMo and
lhotse write them). ``startup``: ``train.py model=micro trainer.max_steps=1`` in a subprocess, timed from its
start to the first training step (Lightning's "`Trainer.fit` stopped" after it) and from the run's first log
line (imports and Hydra done) to that, and to its end; peak RSS from ``/usr/bin/time -v``; RESULT lines give
each size's ratio to the first. ``workers``: the DataModule built from the largest manifest, its training loader
iterated with workers while their private memory (USS) is sampled.

    python bench/scale.py startup --sizes 10000 100000 1000000
    python bench/scale.py workers --size 1000000 --seconds 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

SENTENCES = ("bật đèn phòng khách", "tắt quạt", "mở rèm phòng ngủ", "tăng nhiệt độ điều hoà", "giảm âm lượng")
BASE_SECONDS = (1.2, 1.5, 1.8, 2.1, 2.4)
PER_FOLDER = 10_000
LINKS_PER_FILE = 50_000  # ext4 allows 65,000 hard links to one file


def write_corpus(n: int, root: Path, seed: int = 0) -> Path:
    """``root/manifest.jsonl`` of ``n`` utterances (durations stated), each a hard link to one of a few WAVs; small
    separate val and test manifests so that only the training split grows. Made once per size."""
    manifest = root / "manifest.jsonl"
    if manifest.exists():
        return manifest
    rng = np.random.default_rng(seed)
    (root / "base").mkdir(parents=True, exist_ok=True)
    bases = []
    per_set = LINKS_PER_FILE * len(BASE_SECONDS)  # links to one set of base files
    for k in range(len(BASE_SECONDS) * max(1, -(-n // per_set))):
        seconds = BASE_SECONDS[k % len(BASE_SECONDS)]
        path = root / "base" / f"{k}.wav"
        sf.write(path, (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32), 16000)
        bases.append((path, sf.info(path).duration))
    lines = []
    for i in range(n):
        folder = root / "audio" / f"{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        base, duration = bases[i % len(BASE_SECONDS) + i // per_set * len(BASE_SECONDS)]
        os.link(base, folder / f"u{i}.wav")
        record = {"id": f"u{i}", "sentence": SENTENCES[i % len(SENTENCES)], "file": f"audio/{folder.name}/u{i}.wav"}
        lines.append(json.dumps(record | {"duration": round(duration, 3)}, ensure_ascii=False))
    for name in ("val", "test"):
        (root / f"{name}.jsonl").write_text("\n".join(lines[:64]) + "\n", encoding="utf-8")
    manifest.with_suffix(".tmp").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest.with_suffix(".tmp").rename(manifest)
    return manifest


def startup(n: int, root: Path, run_dir: Path) -> dict:
    """Seconds to the first training step and to the end, and peak RSS, of a one-step micro run on ``n``."""
    manifest = write_corpus(n, root / f"n{n}")
    command = [
        "/usr/bin/time", "-v", sys.executable, "train.py", "model=micro", "data=soict", f"data.manifest={manifest}",
        f"data.audio_dir={manifest.parent}", f"data.val_manifest={manifest.parent / 'val.jsonl'}",
        f"data.test_manifest={manifest.parent / 'test.jsonl'}", "trainer.max_steps=1", "~nlu", "decode=greedy",
        "logger=csv", f"paths.runs_dir={run_dir}", f"run_name=n{n}-{int(time.time())}",
    ]  # fmt: skip
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stamps: list[tuple[float, str]] = []
    for line in process.stdout:
        stamps.append((time.monotonic() - start, line.rstrip()))
    process.wait()
    end = time.monotonic() - start
    text = "\n".join(line for _, line in stamps)
    if process.returncode:
        raise RuntimeError(f"n={n}: train.py failed:\n{text[-4000:]}")
    first_step = next((t for t, line in stamps if "`Trainer.fit` stopped" in line), float("nan"))
    seeded = next((t for t, line in stamps if "Seed set to" in line), float("nan"))
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024**2
    return {
        "utterances": n,
        "first_step_s": round(first_step, 1),
        "corpus_to_step_s": round(first_step - seeded, 1),
        "total_s": round(end, 1),
        "peak_gb": round(peak, 2),
    }


def workers(n: int, root: Path, seconds: float, num_workers: int, every: float = 5.0) -> list[dict]:
    """Each worker's USS (MB) every ``every`` s while the training loader of ``n`` utterances is iterated."""
    from vasr.data.datamodule import SpeechDataModule
    from vasr.data.manifest import read_manifest
    from vasr.text.vocab import build_vocab, make_tokenizer, save_vocab

    manifest = write_corpus(n, root / f"n{n}")
    items, _ = read_manifest(manifest, verify_durations="none")
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", SENTENCES), root))
    module = SpeechDataModule({"train": items}, tokenizer, max_seconds=30.0, num_workers=num_workers, seed=0)
    samples: list[dict] = []
    done = threading.Event()

    def sample() -> None:
        start = time.monotonic()
        while not done.wait(every):
            children = psutil.Process().children()
            uss = [round(child.memory_full_info().uss / 1024**2, 1) for child in children]
            samples.append({"s": round(time.monotonic() - start), "worker_uss_mb": uss})

    batches = 0
    watcher = threading.Thread(target=sample, daemon=True)
    deadline = time.monotonic() + seconds
    watcher.start()
    for _ in module.train_dataloader():
        batches += 1
        if time.monotonic() > deadline:
            break
    done.set()
    watcher.join()
    print(f"{batches} batches of {len(module.train_sampler)} in {seconds:.0f} s")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("startup", "workers"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path("/tmp/vasr-scale"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    if args.mode == "startup":
        rows = [startup(n, args.root, args.root / "runs") for n in args.sizes]
        for row in rows:
            print(json.dumps(row))
            ratio = {
                k: round(row[k] / rows[0][k], 2) for k in ("first_step_s", "corpus_to_step_s", "total_s", "peak_gb")
            }
            print(f"RESULT utterances={row['utterances']} x{row['utterances'] / rows[0]['utterances']:g} {ratio}")
    else:
        for row in workers(args.size, args.root, args.seconds, args.num_workers):
            print(json.dumps(row))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
