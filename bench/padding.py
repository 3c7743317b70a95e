"""Share of real (non-padded) audio frames per batch: vasr's bucketing vs random vs HF group_by_length.

python bench/padding.py [--quick]   ->  RESULT padding <vasr real-frame share on the real-shaped corpus>
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from common import demo_durations, real_shaped_durations  # noqa: E402
from transformers.trainer_pt_utils import LengthGroupedSampler  # noqa: E402

from vasr.data.sampler import BucketBatchSampler  # noqa: E402


def real_share(batches: list[list[int]], durations: list[float]) -> float:
    real = sum(durations[i] for b in batches for i in b)
    return real / sum(max(durations[i] for i in b) * len(b) for b in batches)


def chunk(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


def compare(durations: list[float], batch_size: int, seed: int = 0) -> dict[str, float]:
    shuffled = list(range(len(durations)))
    random.Random(seed).shuffle(shuffled)
    lengths = [int(d * 16000) for d in durations]
    hf = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=torch.Generator().manual_seed(seed)))
    vasr_fixed = list(BucketBatchSampler(durations, batch_size=batch_size, seed=seed))
    mean_seconds = sum(durations) / len(durations) * batch_size
    vasr_budget = list(BucketBatchSampler(durations, max_seconds=mean_seconds, seed=seed))
    return {
        "random": real_share(chunk(shuffled, batch_size), durations),
        "hf LengthGroupedSampler": real_share(chunk(hf, batch_size), durations),
        "vasr batch_size": real_share(vasr_fixed, durations),
        f"vasr max_seconds (mean batch {len(durations) / len(vasr_budget):.1f})": real_share(vasr_budget, durations),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    corpora = {"real-shaped (7,490 utts)": real_shaped_durations(7490)}
    if Path("data/demo/manifest.jsonl").exists():
        corpora["demo corpus"] = demo_durations()
    result = None
    for name, durations in corpora.items():
        print(f"\n{name}: real-frame share at batch size {args.batch_size}")
        for method, share in compare(durations, args.batch_size).items():
            print(f"  {method:45s} {share:.4f}")
            if name.startswith("real") and method == "vasr batch_size":
                result = share
    print(f"RESULT padding {result:.4f}")


if __name__ == "__main__":
    main()
