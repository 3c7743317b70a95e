"""Length-bucketed batches: utterances of similar duration together, so batches carry little padding.

Like lhotse's dynamic bucketing, a batch is bounded either by a count or by padded audio
seconds (longest item x batch size). Under DDP every rank gets the same number of batches
and disjoint ones; the few batches repeated to even the ranks out are harmless because
validation metrics are deduplicated by utterance id.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler


def make_batches(
    durations: Sequence[float],
    batch_size: int | None = None,
    max_seconds: float | None = None,
    jitter: float = 0.0,
    rng: random.Random | None = None,
    first_fraction: float = 1.0,
) -> list[list[int]]:
    """Indices sorted by (jittered) duration and cut into batches by count or padded-seconds budget.

    ``first_fraction`` shrinks the first batch, which shifts every batch boundary: epochs see new
    batch compositions without the padding that a coarser shuffle would cost.
    """
    if (batch_size is None) == (max_seconds is None):
        raise ValueError("give exactly one of batch_size or max_seconds")
    rng = rng or random.Random(0)
    keys = [d * (1 + rng.uniform(-jitter, jitter)) if jitter else d for d in durations]
    order = sorted(range(len(durations)), key=lambda i: (keys[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0.0
    scale = first_fraction
    for index in order:
        longest_if_added = max(longest, durations[index])
        full = (
            len(current) >= max(1, round(batch_size * scale))
            if batch_size is not None
            else current and longest_if_added * (len(current) + 1) > max_seconds * scale
        )
        if full:
            scale = 1.0
            batches.append(current)
            current, longest_if_added = [], durations[index]
        current.append(index)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


class BucketBatchSampler(Sampler[list[int]]):
    """Seeded, epoch-aware batch sampler over utterance durations, DDP-aware through ``rank``/``world_size``.

    ``sortagrad_epochs`` (DeepSpeech 2's SortaGrad) serves the first epochs shortest-first: CTC
    leaves its all-blank plateau sooner on short utterances.
    """

    def __init__(
        self,
        durations: Sequence[float],
        batch_size: int | None = None,
        max_seconds: float | None = None,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        jitter: float = 0.01,
        sortagrad_epochs: int = 0,
    ) -> None:
        self.durations = list(durations)
        self.batch_size = batch_size
        self.max_seconds = max_seconds
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.jitter = jitter if shuffle else 0.0
        self.sortagrad_epochs = sortagrad_epochs
        self.epoch = 0
        self._skip = 0
        self._cached: tuple[int, list[list[int]]] | None = None
        make_batches(self.durations[:1], batch_size, max_seconds)  # validate the arguments early

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at each epoch start: a new batch composition and order per epoch."""
        self.epoch = epoch

    def resume(self, epoch: int, batches_done: int) -> None:
        """Continue ``epoch`` after its first ``batches_done`` batches (a run restored mid-epoch)."""
        self.epoch = epoch
        self._skip = batches_done

    def _all_batches(self) -> list[list[int]]:
        """This epoch's batches for all ranks, computed once: Lightning asks ``len`` several times per epoch."""
        if self._cached and self._cached[0] == self.epoch:
            return self._cached[1]
        rng = random.Random(self.seed * 100_003 + self.epoch)
        first = rng.uniform(0.05, 1.0) if self.shuffle else 1.0
        batches = make_batches(self.durations, self.batch_size, self.max_seconds, self.jitter, rng, first)
        if self.shuffle and self.epoch >= self.sortagrad_epochs:
            rng.shuffle(batches)
        if self.world_size > 1 and batches:
            padded = math.ceil(len(batches) / self.world_size) * self.world_size
            batches += batches[: padded - len(batches)]
        self._cached = (self.epoch, batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        skip, self._skip = self._skip, 0
        yield from self._all_batches()[self.rank :: self.world_size][skip:]

    def __len__(self) -> int:
        return math.ceil(len(self._all_batches()) / self.world_size)
