"""Share of real (non-padded) audio frames per batch: vasr's bucketing vs random vs HF group_by_length.

python bench/padding.py [--quick]   ->  RESULT padding <vasr real-frame share on the real-shaped corpus>
                                        RESULT shapes <distinct padded batch shapes per epoch, GPU defaults>
                                        RESULT shapes_augmented <the same with speed perturbation 0.9/1.0/1.1>

The shape count is one epoch of the demo training split (the default run's 2,400 utterances, or
the real-shaped corpus when data/demo is missing) batched as ``preset=gpu`` does (``max_seconds``
200, ``pad_to_seconds`` 0.125): GPU kernels are planned once per shape, so fewer is faster.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import torch
from common import demo_durations, real_shaped_durations
from transformers.trainer_pt_utils import LengthGroupedSampler

from vasr.audio import SAMPLE_RATE
from vasr.augment import Augmentation
from vasr.data.sampler import BucketBatchSampler, padded_seconds

PAD_TO = 0.125  # conf/data/demo.yaml
GPU_BATCHING = {"max_seconds": 200.0, "pad_to": PAD_TO}


def real_share(batches: list[list[int]], durations: list[float], pad_to: float | None = None) -> float:
    """Real audio over padded audio; ``pad_to`` rounds each batch's length up as vasr's collator does."""
    real = sum(durations[i] for b in batches for i in b)
    longest = [max(durations[i] for i in b) for b in batches]
    lengths = [padded_seconds(x, pad_to) if pad_to else x for x in longest]
    return real / sum(length * len(b) for length, b in zip(lengths, batches, strict=True))


def shapes(durations: list[float], speeds: Augmentation | None = None) -> tuple[int, float, int]:
    """Distinct (batch size, padded length) shapes of one epoch under the GPU batching, real-frame share, batches;
    with ``speeds``, of an epoch whose utterances are speed-perturbed (batched by their perturbed durations)."""
    if speeds is None:
        batches = list(BucketBatchSampler(durations, **GPU_BATCHING, seed=0))
    else:
        epoch_speeds = lambda epoch: speeds.epoch_speeds(0, epoch, len(durations))  # noqa: E731
        keyed = list(BucketBatchSampler(durations, **GPU_BATCHING, seed=0, epoch_speeds=epoch_speeds))
        factors = epoch_speeds(0)
        durations = [d / s for d, s in zip(durations, factors, strict=True)]
        batches = [[key.index for key in batch] for batch in keyed]
    found = {(len(b), round(padded_seconds(max(durations[i] for i in b), PAD_TO) * SAMPLE_RATE)) for b in batches}
    return len(found), real_share(batches, durations, GPU_BATCHING["pad_to"]), len(batches)


def chunk(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


def compare(durations: list[float], batch_size: int, seed: int = 0) -> dict[str, float]:
    shuffled = list(range(len(durations)))
    random.Random(seed).shuffle(shuffled)
    lengths = [int(d * SAMPLE_RATE) for d in durations]
    hf = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=torch.Generator().manual_seed(seed)))
    vasr_fixed = list(BucketBatchSampler(durations, batch_size=batch_size, pad_to=PAD_TO, seed=seed))
    mean_seconds = sum(durations) / len(durations) * batch_size
    vasr_budget = list(BucketBatchSampler(durations, max_seconds=mean_seconds, pad_to=PAD_TO, seed=seed))
    return {
        "random": real_share(chunk(shuffled, batch_size), durations),
        "hf LengthGroupedSampler": real_share(chunk(hf, batch_size), durations),
        "vasr batch_size": real_share(vasr_fixed, durations, PAD_TO),
        f"vasr max_seconds (mean batch {len(durations) / len(vasr_budget):.1f})": real_share(
            vasr_budget, durations, PAD_TO
        ),
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
    name = "demo corpus" if "demo corpus" in corpora else "real-shaped (7,490 utts)"
    durations = corpora[name]
    train = durations[: int(len(durations) * 0.8)]  # the default run's share of the corpus for training
    count, share, batches = shapes(train)
    print(f"\n{name}, {len(train)} training utterances, GPU batching {GPU_BATCHING}:")
    print(f"  {batches} batches, {count} distinct padded shapes, real-frame share {share:.4f}")
    print(f"RESULT shapes {count}")
    count, share, batches = shapes(train, Augmentation(speeds=(0.9, 1.0, 1.1)))
    print(
        f"  speed-perturbed (0.9/1.0/1.1, conf/augment/default.yaml): {batches} batches, {count} shapes, "
        f"real-frame share {share:.4f}"
    )
    print(f"RESULT shapes_augmented {count}")


if __name__ == "__main__":
    main()
