"""Start-up time and memory at 10k to millions of utterances, and DataLoader workers' memory over a whole epoch.

A synthetic corpus of N hard links to a few short WAVs, with durations in the manifest (as vasr-prepare, NeMo and
lhotse write them) and transcripts drawn at random from a few hundred syllables (every line its own sentence, so
no cache of repeated transcripts flatters the figures). ``startup``: ``train.py model=micro trainer.max_steps=1``
in a subprocess, timed from its start to the first training step (Lightning's "`Trainer.fit` stopped" after it)
and from the run's first log line (imports and Hydra done) to that; its CPU seconds (user + system, less sensitive
to the machine's load than the wall clock, the manifest's reading processes included) to the first step and in
all; peak RSS of the whole run from ``/usr/bin/time -v``, and up to the first step (VmHWM) against that of a process
that only imports what train.py imports (``corpus_share_mb``); the load average before and after each.
``epoch``: the DataModule built from the manifest, one whole epoch of its training loader iterated by its workers
(audio reading replaced by a fixed array unless ``--real-audio``: the index is what workers could copy, not the
audio), each worker's private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) sampled.

    python bench/scale.py startup --sizes 10000 100000 1000000
    python bench/scale.py epoch --size 1000000 --num-workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import psutil
import soundfile as sf

WORDS = (
    "bật tắt mở đóng tăng giảm đèn quạt rèm cửa phòng khách ngủ bếp tắm điều hoà nhiệt độ âm lượng tivi loa máy giặt "
    "sấy nóng lạnh hai ba bốn năm sáu bảy tám chín mười giờ phút sáng chiều tối nhà tôi giúp với nhé đi lên xuống "
    "một chút nữa cho con của bố mẹ ông bà anh chị em bàn ghế sân vườn cổng ban công góc trái phải giữa trên dưới"
)
SYLLABLES = WORDS.split()
BASE_SECONDS = (1.2, 1.5, 1.8, 2.1, 2.4)
PER_FOLDER = 10_000
LINKS_PER_FILE = 50_000  # ext4 allows 65,000 hard links to one file


def sentences(n: int, seed: int) -> list[str]:
    """``n`` transcripts of 2–5 random syllables, most of them distinct, some capitalised or punctuated as corpora
    write them (so normalisation has work to do)."""
    rng = np.random.default_rng(seed)
    words = rng.integers(len(SYLLABLES), size=(n, 5)).tolist()
    counts = rng.integers(2, 6, size=n).tolist()
    marks = rng.choice(["", "", "", ".", "?", "!"], size=n).tolist()
    texts = [" ".join(SYLLABLES[w] for w in row[:k]) + mark for row, k, mark in zip(words, counts, marks, strict=True)]
    return [text.capitalize() if i % 3 == 0 else text for i, text in enumerate(texts)]


def write_corpus(n: int, root: Path, seed: int = 0) -> Path:
    """``root/manifest.jsonl`` of ``n`` utterances (durations stated), each a hard link to one of a few WAVs; small
    separate val and test manifests so that only the training split grows. Made once per size (links already
    there are kept)."""
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
        if not path.exists():
            sf.write(path, (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32), 16000)
        bases.append((str(path), sf.info(path).duration))
    texts = sentences(n, seed)
    with manifest.with_suffix(".tmp").open("wb") as handle:
        for i in range(n):
            folder = f"audio/{i // PER_FOLDER:04d}"
            if i % PER_FOLDER == 0:
                (root / folder).mkdir(parents=True, exist_ok=True)
            base, duration = bases[i % len(BASE_SECONDS) + i // per_set * len(BASE_SECONDS)]
            file = f"{folder}/u{i}.wav"
            with contextlib.suppress(FileExistsError):  # made by an earlier run
                os.link(base, root / file)
            record = {"id": f"u{i}", "sentence": texts[i], "file": file, "duration": round(duration, 3)}
            handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            if i == 63:
                handle.flush()
                for name in ("val", "test"):
                    (root / f"{name}.jsonl").write_bytes(manifest.with_suffix(".tmp").read_bytes())
    manifest.with_suffix(".tmp").rename(manifest)
    return manifest


def startup(n: int, root: Path, run_dir: Path) -> dict:
    """Seconds to the first training step and to the end, CPU seconds, peak RSS and the load average around it, of
    a one-step micro run on ``n`` utterances."""
    manifest = write_corpus(n, root / f"n{n}")
    command = [
        "/usr/bin/time", "-v", sys.executable, "train.py", "model=micro", "data=soict", f"data.manifest={manifest}",
        f"data.audio_dir={manifest.parent}", f"data.val_manifest={manifest.parent / 'val.jsonl'}",
        f"data.test_manifest={manifest.parent / 'test.jsonl'}", "trainer.max_steps=1", "~nlu", "decode=greedy",
        "logger=csv", f"paths.runs_dir={run_dir}", f"run_name=n{n}-{int(time.time())}",
    ]  # fmt: skip
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stamps: list[tuple[float, str]] = []
    cpu_to_step, memory_at_step = float("nan"), {}
    for line in process.stdout:
        stamps.append((time.monotonic() - start, line.rstrip()))
        if "`Trainer.fit` stopped" in line:  # train.py is /usr/bin/time's child
            children = psutil.Process(process.pid).children()
            cpu_to_step = sum(sum(child.cpu_times()[:4]) for child in children)  # readers' too
            memory_at_step = memory_mb(children[0].pid)
    process.wait()
    end = time.monotonic() - start
    text = "\n".join(line for _, line in stamps)
    if process.returncode:
        raise RuntimeError(f"n={n}: train.py failed:\n{text[-4000:]}")
    first_step = next((t for t, line in stamps if "`Trainer.fit` stopped" in line), float("nan"))
    seeded = next((t for t, line in stamps if "Seed set to" in line), float("nan"))
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", text).group(1)) for kind in ("User", "System"))
    return {
        "utterances": n,
        "first_step_s": round(first_step, 1),
        "seed_to_step_s": round(first_step - seeded, 1),
        "total_s": round(end, 1),
        "cpu_to_step_s": round(cpu_to_step, 1),
        "cpu_s": round(cpu, 1),
        "peak_mb": round(peak),
        "peak_to_step_mb": memory_at_step.get("VmHWM", float("nan")),
        "anon_at_step_mb": memory_at_step.get("RssAnon", float("nan")),
        "file_at_step_mb": memory_at_step.get("RssFile", float("nan")),
        "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def memory_mb(pid: int) -> dict[str, float]:
    """A process's peak resident memory so far (VmHWM) and what is resident now, anonymous (its own data) and
    file-backed (mapped libraries: torch's CUDA build maps gigabytes, of which the touched pages count), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: round(int(fields[key].split()[0]) / 1024) for key in ("VmHWM", "RssAnon", "RssFile")}


def imports() -> dict[str, float]:
    """:func:`memory_mb` of a process that imports what ``train.py`` imports before it reads anything: the start
    every run pays, which the corpus's share is measured against."""
    code = (
        "import json, pathlib, torch, transformers, lightning, vasr.recipe.training, vasr.recipe.sweep; "
        "status = dict(l.split(':', 1) for l in pathlib.Path('/proc/self/status').read_text().splitlines()); "
        "print(json.dumps({k: round(int(status[k].split()[0]) / 1024) for k in ('VmHWM', 'RssAnon', 'RssFile')}))"
    )
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def private_mb(pid: int) -> float:
    """A process's private memory (clean + dirty pages no other process maps), from /proc/PID/smaps_rollup."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return (int(fields["Private_Clean"].split()[0]) + int(fields["Private_Dirty"].split()[0])) / 1024


def epoch(n: int, root: Path, num_workers: int, real_audio: bool, every: float = 5.0) -> dict:
    """Each worker's private memory (MB) every ``every`` s while one whole epoch of the training loader of ``n``
    utterances is iterated."""
    import vasr.data.dataset
    from vasr.data.datamodule import SpeechDataModule
    from vasr.data.manifest import read_manifest
    from vasr.text.vocab import build_vocab, make_tokenizer, save_vocab

    manifest = write_corpus(n, root / f"n{n}")
    items, _ = read_manifest(manifest, verify_durations="none")
    if not real_audio:
        silence = np.zeros(16000, dtype=np.float32)
        vasr.data.dataset.load_audio = lambda path, sample_rate: silence  # the workers fork with it
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", [items.column("text").joined()]), root))
    module = SpeechDataModule({"train": items}, tokenizer, max_seconds=30.0, num_workers=num_workers, seed=0)
    samples: list[dict] = []
    done = threading.Event()
    start = time.monotonic()

    def sample() -> None:
        while not done.wait(every):
            try:
                found = {child.pid: private_mb(child.pid) for child in psutil.Process().children()}
            except (FileNotFoundError, psutil.NoSuchProcess):
                continue
            samples.append({"s": round(time.monotonic() - start), "private_mb": list(found.values())})
            print(json.dumps(samples[-1]), flush=True)  # as it goes: a run stopped early still tells

    batches = 0
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    for _ in module.train_dataloader():
        batches += 1
    done.set()
    watcher.join()
    per_worker = [[row["private_mb"][k] for row in samples if len(row["private_mb"]) == num_workers]
                  for k in range(num_workers)]  # fmt: skip
    return {
        "utterances": n,
        "batches": batches,
        "of": len(module.train_sampler),
        "seconds": round(time.monotonic() - start),
        "samples": samples,
        "start_mb": [round(worker[0], 1) for worker in per_worker],
        "end_mb": [round(worker[-1], 1) for worker in per_worker],
        "max_mb": [round(max(worker), 1) for worker in per_worker],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("startup", "epoch"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--real-audio", action="store_true")
    parser.add_argument("--root", type=Path, default=Path("/tmp/vasr-scale"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    if args.mode == "startup":
        base = imports()
        print(f"imports alone: {json.dumps(base)}", flush=True)
        for n in args.sizes:
            row = startup(n, args.root, args.root / "runs")
            print(json.dumps(row), flush=True)
            for key in ("first_step_s", "seed_to_step_s", "cpu_to_step_s", "peak_mb", "peak_to_step_mb"):
                print(f"RESULT {key}_{n} {row[key]}", flush=True)
            print(f"RESULT corpus_share_mb_{n} {row['peak_to_step_mb'] - base['VmHWM']}", flush=True)
    else:
        found = epoch(args.size, args.root, args.num_workers, args.real_audio)
        del found["samples"]
        print(json.dumps(found))
        for key in ("start_mb", "end_mb", "max_mb"):
            for k, value in enumerate(found[key]):
                print(f"RESULT worker{k}_private_{key} {value}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
