"""Peak RSS of building the DataModule and iterating one epoch, against corpus size.

python bench/memory.py [--quick]   ->  RESULT memory <peak MiB at the largest size / peak MiB at 1k>

Each size runs in its own process (peak RSS is per process). The audio is a few demo WAVs
shared by every line, so a 100k-line manifest needs no 100k files. The reference recipe's
approach (every utterance decoded into a Python list up front) is measured beside it at the
sizes it survives on this machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

DEMO = Path("data/demo")


def make_manifest(folder: Path, n: int, shared: int = 32) -> Path:
    lines = (DEMO / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[:shared]
    records = [json.loads(line) for line in lines]
    path = folder / f"manifest-{n}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            record = dict(records[i % shared], id=f"u{i}")
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vasr_epoch(manifest: str) -> dict:
    from vasr.data.datamodule import SpeechDataModule
    from vasr.data.manifest import read_manifest
    from vasr.text.vocab import build_vocab, make_tokenizer, save_vocab

    start = time.perf_counter()
    items, _ = read_manifest(manifest, DEMO / "audio")
    validated = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in items[:1000])), tmp))
    dm = SpeechDataModule({"train": items}, tokenizer, batch_size=None, max_seconds=200, num_workers=0)
    batches = sum(1 for _ in dm.train_dataloader())
    return {"batches": batches, "validate_s": validated, "epoch_s": time.perf_counter() - start, "peak_mib": peak_mib()}


def reference_in_memory(manifest: str) -> dict:
    start = time.perf_counter()
    speech = []
    for line in Path(manifest).read_text(encoding="utf-8").splitlines():
        audio, _ = sf.read(str(DEMO / "audio" / json.loads(line)["file"]))
        speech.append(audio.tolist())  # what `batch["speech"] = speech_array` + datasets' lists amount to
    return {"utterances": len(speech), "epoch_s": time.perf_counter() - start, "peak_mib": peak_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"vasr": vasr_epoch, "reference": reference_in_memory}[args.child[0]](args.child[1])))
        return
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    reference_sizes = [100, 1_000] if args.quick else [100, 1_000, 3_000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for who, ns in (("vasr", sizes), ("reference", reference_sizes)):
            for n in ns:
                manifest = make_manifest(Path(tmp), n)
                out = subprocess.run(
                    [sys.executable, __file__, "--child", who, str(manifest)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row = {"who": who, "utterances": n, **json.loads(out.stdout.strip().splitlines()[-1])}
                rows.append(row)
                print(
                    f"{who:10s} {n:>7d} utts  peak {row['peak_mib']:8.1f} MiB  {row['epoch_s']:7.1f} s"
                    + (f"  (validation {row['validate_s']:.2f} s)" if "validate_s" in row else "")
                )
    vasr_rows = [r for r in rows if r["who"] == "vasr"]
    print(f"RESULT memory {vasr_rows[-1]['peak_mib'] / vasr_rows[0]['peak_mib']:.3f}")


if __name__ == "__main__":
    main()
