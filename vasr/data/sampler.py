"""Length-bucketed batches with few distinct shapes, and a sampler that owns its epoch and position.

Utterances are bucketed by their duration rounded up to a multiple of ``pad_to`` seconds; each
bucket has one batch size (a count, or as many as fit a padded-seconds budget), and what is left
of a bucket joins the next longer one. So an epoch's batches come in few padded shapes (GPU kernels
are planned once per shape) at little padding, and their number is the same every epoch.

Under DDP every rank gets the same number of batches and disjoint ones; the few batches repeated
to even the ranks out are harmless because validation metrics are deduplicated by utterance id.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

from torch.utils.data import Sampler

from vasr.augment.pipeline import SampleKey


def padded_seconds(duration: float, pad_to: float) -> float:
    """``duration`` rounded up to a whole number of ``pad_to`` steps (at least one)."""
    return max(1, math.ceil(duration / pad_to - 1e-9)) * pad_to


def make_batches(
    durations: Sequence[float],
    batch_size: int | None = None,
    max_seconds: float | None = None,
    pad_to: float = 0.125,
    rng: random.Random | None = None,
) -> list[list[int]]:
    """Batches of similar padded length, shortest bucket first; ``rng`` shuffles who shares a batch.

    A batch of bucket ``L`` holds ``batch_size`` utterances, or ``max_seconds // L`` of them (at
    least one). Without ``rng`` each bucket is taken in duration order (evaluation).
    """
    if (batch_size is None) == (max_seconds is None):
        raise ValueError("give exactly one of batch_size or max_seconds")
    buckets: dict[float, list[int]] = defaultdict(list)
    for index, duration in enumerate(durations):
        buckets[padded_seconds(duration, pad_to)].append(index)
    batches: list[list[int]] = []
    carry: list[int] = []
    for length in sorted(buckets):
        members = buckets[length]
        if rng is not None:
            rng.shuffle(members)
        else:
            members.sort(key=lambda i: (durations[i], i))
        pool = carry + members
        size = batch_size or max(1, int(max_seconds // length + 1e-9))
        full = len(pool) // size * size
        batches += [pool[start : start + size] for start in range(0, full, size)]
        carry = pool[full:]
    if carry:
        batches.append(carry)
    return batches


class BucketBatchSampler(Sampler[list[int]]):
    """Seeded bucketed batches that know their epoch and how far into it training got.

    Each pass over the sampler is a new epoch with a new seeded composition and order of batches
    (``sortagrad_epochs``, DeepSpeech 2's SortaGrad, serves the first epochs shortest-first: CTC
    leaves its all-blank plateau sooner on short utterances). The consumer calls :meth:`mark_trained`
    per batch it trains on; :meth:`state_dict` then says exactly where a restored run continues,
    whatever the loader had prefetched.

    With ``epoch_speeds`` (the augmentation's speed factors of an epoch's utterances) it buckets each
    utterance by its perturbed duration and yields :class:`SampleKey` s, which tell the dataset the
    epoch and speed to augment with; the seconds budget and the few shapes then hold for what is trained on.
    """

    def __init__(
        self,
        durations: Sequence[float],
        batch_size: int | None = None,
        max_seconds: float | None = None,
        pad_to: float = 0.125,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        sortagrad_epochs: int = 0,
        epoch_speeds: Callable[[int], Sequence[float]] | None = None,
    ) -> None:
        self.durations = list(durations)
        self.epoch_speeds = epoch_speeds
        self.batch_size = batch_size
        self.max_seconds = max_seconds
        self.pad_to = pad_to
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.sortagrad_epochs = sortagrad_epochs
        self.epoch = 0
        self.consumed = 0  # batches of this rank's current epoch trained on
        self._exhausted = False
        self._cached: dict[int, tuple[list[list[int]], Sequence[float]]] = {}
        make_batches(self.durations[:1], batch_size, max_seconds, pad_to)  # validate the arguments early

    def set_epoch(self, epoch: int) -> None:
        """Serve ``epoch`` from its start on the next pass."""
        self.epoch, self.consumed, self._exhausted = epoch, 0, False

    def mark_trained(self) -> None:
        """One more batch of the current epoch was trained on."""
        self.consumed += 1

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "consumed": self.consumed, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue the saved epoch after the batches it had trained on (the next one if it was done)."""
        if state.get("seed", self.seed) != self.seed:
            raise ValueError(f"the checkpoint's data order has seed {state['seed']}, this run {self.seed}")
        self.epoch, self.consumed, self._exhausted = state["epoch"], state["consumed"], False

    def all_batches(self, epoch: int | None = None) -> list[list[int]]:
        """An epoch's batches (this one's by default) for all ranks, computed once per epoch: Lightning asks
        ``len`` several times per epoch."""
        epoch = self.epoch if epoch is None else epoch
        if epoch in self._cached:
            return self._cached[epoch][0]
        rng = random.Random(self.seed * 100_003 + epoch) if self.shuffle else None
        speeds = self.epoch_speeds(epoch) if self.epoch_speeds else [1.0] * len(self.durations)
        durations = [d / s for d, s in zip(self.durations, speeds, strict=True)]
        batches = make_batches(durations, self.batch_size, self.max_seconds, self.pad_to, rng)
        if rng is not None and epoch >= self.sortagrad_epochs:
            rng.shuffle(batches)
        if self.world_size > 1 and batches:
            padded = math.ceil(len(batches) / self.world_size) * self.world_size
            batches += batches[: padded - len(batches)]
        self._cached = {e: v for e, v in self._cached.items() if e >= epoch - 1} | {epoch: (batches, speeds)}
        return batches

    def _count(self, epoch: int) -> int:
        return math.ceil(len(self.all_batches(epoch)) / self.world_size)

    def _upcoming_epoch(self) -> int:
        """The epoch the next pass serves: this one, unless it has been served to its end."""
        done = self._exhausted or self.consumed >= self._count(self.epoch)
        return self.epoch + 1 if done else self.epoch

    def __iter__(self) -> Iterator[list[int]] | Iterator[list[SampleKey]]:
        if self._upcoming_epoch() != self.epoch:
            self.set_epoch(self.epoch + 1)
        mine = self.all_batches()[self.rank :: self.world_size]
        if self.epoch_speeds is None:
            yield from mine[self.consumed :]
        else:
            speeds = self._cached[self.epoch][1]
            for batch in mine[self.consumed :]:
                yield [SampleKey(i, self.epoch, float(speeds[i])) for i in batch]
        self._exhausted = True

    def __len__(self) -> int:
        """Batches of the pass about to start (or under way): with speed perturbation the count differs a
        little from epoch to epoch, so the Trainer re-reads it each epoch (``reload_dataloaders_every_n_epochs``)."""
        return self._count(self._upcoming_epoch())
