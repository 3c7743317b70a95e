"""Length-bucketed batches with few distinct shapes, and a sampler that owns its epoch and position.

Utterances are bucketed by their duration rounded up to a multiple of ``pad_to`` seconds; each
bucket has one batch size (a count, or as many as fit a padded-seconds budget), and what is left
of a bucket joins the next longer one. So an epoch's batches come in few padded shapes (GPU kernels
are planned once per shape) at little padding, and their number is the same every epoch.

Under DDP every rank gets the same number of batches and disjoint ones; the few batches repeated
to even the ranks out are harmless because validation metrics are deduplicated by utterance id.
"""

from __future__ import annotations

import logging
import math
import random
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, overload

import numpy as np
from torch.utils.data import Sampler

from vasr.augment.pipeline import SampleKey
from vasr.data.mix import CorpusMix

log = logging.getLogger("vasr")


def padded_seconds(duration: float, pad_to: float) -> float:
    """``duration`` rounded up to a whole number of ``pad_to`` steps (at least one)."""
    return max(1, math.ceil(duration / pad_to - 1e-9)) * pad_to


class Batches(Sequence[list[int]]):
    """An epoch's batches as two arrays (every member end to end, and where each batch starts) and the order they
    are served in: a list per batch holds a Python int per utterance, ~40 MB at a million."""

    def __init__(self, members: np.ndarray, bounds: np.ndarray, order: np.ndarray | None = None) -> None:
        self.members, self.bounds = members, bounds
        self.order = np.arange(len(bounds) - 1) if order is None else order

    def __len__(self) -> int:
        return len(self.order)

    @overload
    def __getitem__(self, i: int) -> list[int]: ...
    @overload
    def __getitem__(self, i: slice) -> Batches: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return Batches(self.members, self.bounds, self.order[i])
        k = self.order[i]
        return self.members[self.bounds[k] : self.bounds[k + 1]].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        return map(self.__getitem__, range(len(self)))

    def shuffled(self, rng: random.Random) -> Batches:
        """The same batches in ``rng``'s order: the permutation ``rng.shuffle`` gives a list of them."""
        order = self.order.tolist()
        rng.shuffle(order)
        return Batches(self.members, self.bounds, np.asarray(order, dtype=np.int64))


def make_batches(
    durations: Sequence[float],
    batch_size: int | None = None,
    max_seconds: float | None = None,
    pad_to: float = 0.125,
    rng: random.Random | None = None,
) -> Batches:
    """Batches of similar padded length, shortest bucket first; ``rng`` shuffles who shares a batch.

    A batch of bucket ``L`` holds ``batch_size`` utterances, or ``max_seconds // L`` of them (at
    least one). Without ``rng`` each bucket is taken in duration order (evaluation).
    """
    if (batch_size is None) == (max_seconds is None):
        raise ValueError("give exactly one of batch_size or max_seconds")
    durations = np.asarray(durations, dtype=np.float64)
    lengths = np.maximum(1, np.ceil(durations / pad_to - 1e-9)).astype(np.int64) * pad_to
    # Members of a bucket in index order (shuffled below) or, for evaluation, in duration order.
    if not len(durations):
        return Batches(np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))
    order = np.argsort(lengths, kind="stable") if rng is not None else np.lexsort((durations, lengths))
    starts = np.flatnonzero(np.r_[True, np.diff(lengths[order]) != 0])
    buckets = dict(zip(lengths[order][starts].tolist(), np.split(order, starts[1:]), strict=True))
    members: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    carry = array("q")
    for length in sorted(buckets):
        # shuffled as 8-byte machine ints: a list would make a Python int per member, whose freed memory the
        # allocator keeps (tens of MB at a million utterances); rng.shuffle permutes any sequence alike
        pool = array("q", buckets[length].astype(np.int64).tobytes())
        if rng is not None:
            rng.shuffle(pool)
        pool = carry + pool
        size = batch_size or max(1, int(max_seconds // length + 1e-9))
        full = len(pool) // size * size
        members.append(np.frombuffer(pool, dtype=np.int64)[:full].copy())
        sizes.append(np.full(full // size, size, dtype=np.int64))
        carry = pool[full:]
    if carry:
        members.append(np.frombuffer(carry, dtype=np.int64).copy())
        sizes.append(np.array([len(carry)], dtype=np.int64))
    return Batches(np.concatenate(members), np.concatenate([[0], *sizes]).cumsum())


class Draw(NamedTuple):
    """An epoch's training utterances (positions in the split, repeated where a mix draws one again), which copy
    of its utterance each is (0 for the first), and each one's speed factor."""

    utterances: np.ndarray
    copies: np.ndarray
    speeds: np.ndarray

    @classmethod
    def each_once(cls, speeds: Sequence[float]) -> Draw:
        """Every utterance once (no mix), at ``speeds``."""
        count = len(speeds)
        return cls(np.arange(count), np.zeros(count, dtype=np.int64), np.asarray(speeds, dtype=np.float64))


class BucketBatchSampler(Sampler[list[int]]):
    """Seeded bucketed batches that know their epoch, how far into it training got, and how they were made.

    Each pass over the sampler is a new epoch with a new seeded composition and order of batches
    (``sortagrad_epochs``, DeepSpeech 2's SortaGrad, serves the first epochs shortest-first: CTC
    leaves its all-blank plateau sooner on short utterances). The consumer calls :meth:`mark_trained`
    per batch it trains on; :meth:`state_dict` then says exactly where a restored run continues,
    whatever the loader had prefetched.

    An epoch's batches are one sequence for all ranks; rank r trains on every ``world_size``-th of what is
    left of it. The state counts the batches trained by all ranks together, so a run resumed on another
    number of ranks trains each of the epoch's remaining batches once, spread over the new ranks; a
    resume with other batch settings (which would make other batches) is refused.

    With ``epoch_speeds`` (the augmentation's speed factors of an epoch's utterances, of their first copies or of
    later ones) it buckets each
    utterance by its perturbed duration and yields :class:`SampleKey` s, which tell the dataset the
    epoch and speed to augment with; the seconds budget and the few shapes then hold for what is trained on.

    With a ``mix`` (several corpora) an epoch batches the utterances the mix draws for it, from the seed and the
    epoch alone, so the state above still says exactly where a restored run continues.
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
        epoch_speeds: Callable[[int, int], Sequence[float]] | None = None,
        mix: CorpusMix | None = None,
    ) -> None:
        self.durations = np.asarray(durations, dtype=np.float64)
        self.mix = mix
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
        self.start = 0  # batches of the epoch (all ranks) trained before this pass began
        self.offset = 0  # batches of the epoch this rank's training loop counted before this pass began
        self.consumed = 0  # batches of this pass this rank trained on
        self._exhausted = False
        self._cached: dict[int, tuple[Sequence[list[int]], Draw]] = {}
        make_batches(self.durations[:1], batch_size, max_seconds, pad_to)  # validate the arguments early

    def set_epoch(self, epoch: int) -> None:
        """Serve ``epoch`` from its start on the next pass."""
        self.epoch, self.start, self.offset, self.consumed, self._exhausted = epoch, 0, 0, 0, False

    def mark_trained(self) -> None:
        """One more batch of the current epoch was trained on."""
        self.consumed += 1

    @property
    def trained(self) -> int:
        """Batches of the current epoch trained on by all ranks together (they step in lockstep)."""
        return self.start + self.consumed * self.world_size

    @property
    def settings(self) -> dict[str, float | int | bool | None]:
        """What decides an epoch's batches: a resumed run must make the same ones."""
        return {
            "utterances": len(self.durations),
            "batch_size": self.batch_size,
            "max_seconds": self.max_seconds,
            "pad_to": self.pad_to,
            "shuffle": self.shuffle,
            "seed": self.seed,
            "sortagrad_epochs": self.sortagrad_epochs,
            "speed_perturbation": self.epoch_speeds is not None,
            "mix": self.mix.settings if self.mix is not None else None,
        }

    def state_dict(self) -> dict:
        counted = self.offset + self.consumed
        return {"epoch": self.epoch, "trained": self.trained, "counted": counted, "world_size": self.world_size} | (
            self.settings
        )

    def load_state_dict(self, state: dict) -> None:
        """Continue the saved epoch after the batches it had trained on (the next one if it was done), on any
        number of ranks; refuse settings that would make other batches."""
        if "trained" not in state:
            raise ValueError("the checkpoint's data order predates vasr's sampler settings; start a new run")
        differ = {k: (state.get(k), v) for k, v in self.settings.items() if state.get(k) != v}
        if differ:
            listed = ", ".join(f"{k} {saved} in the checkpoint, {now} now" for k, (saved, now) in differ.items())
            raise ValueError(
                f"the checkpoint's batches were made with other settings ({listed}): resuming would train other "
                "batches than the interrupted run; resume with its data.loader settings, or start a new run_name"
            )
        self.epoch, self.start, self.consumed, self._exhausted = state["epoch"], state["trained"], 0, False
        self.offset = state["counted"]  # where the restored training loop counts from
        if state["world_size"] != self.world_size and self.rank == 0:
            left = max(0, len(self.epoch_batches()) - self.start)
            log.info(
                "resuming epoch %d on %d ranks (the checkpoint ran on %d): its %d batches left, each trained once",
                self.epoch,
                self.world_size,
                state["world_size"],
                left,
            )

    def epoch_batches(self, epoch: int | None = None) -> Sequence[list[int]]:
        """An epoch's batches (this one's by default) for all ranks, as positions in its :class:`Draw` (the
        utterances themselves without a mix), computed once per epoch: Lightning asks ``len`` several times per
        epoch."""
        epoch = self.epoch if epoch is None else epoch
        if epoch not in self._cached:
            rng = random.Random(self.seed * 100_003 + epoch) if self.shuffle else None
            draw = self.draw(epoch)
            batches = make_batches(self.durations[draw.utterances] / draw.speeds, self.batch_size,
                                   self.max_seconds, self.pad_to, rng)  # fmt: skip
            if rng is not None and epoch >= self.sortagrad_epochs:
                batches = batches.shuffled(rng)
            self._cached = {e: v for e, v in self._cached.items() if e >= epoch - 1} | {epoch: (batches, draw)}
        return self._cached[epoch][0]

    def draw(self, epoch: int) -> Draw:
        """What ``epoch`` trains on: every utterance once, or what the mix draws (an utterance drawn twice is two
        copies, each with its own speed and augmentation)."""
        if self.mix is None:
            return Draw.each_once(self.epoch_speeds(epoch) if self.epoch_speeds else np.ones(len(self.durations)))
        utterances = self.mix.draw(self.seed, epoch)  # sorted: an utterance's copies side by side
        first = np.flatnonzero(np.r_[True, utterances[1:] != utterances[:-1]])
        copies = np.arange(len(utterances)) - np.repeat(first, np.diff(np.r_[first, len(utterances)]))
        speeds = np.ones(len(utterances))
        if self.epoch_speeds is not None:
            for copy in range(int(copies.max(initial=0)) + 1):
                these = copies == copy
                drawn = self.epoch_speeds(epoch, copy) if copy else self.epoch_speeds(epoch)  # one argument will do
                speeds[these] = np.asarray(drawn, dtype=np.float64)[utterances[these]]
        return Draw(utterances, copies, speeds)

    def _pass(self, epoch: int, start: int) -> np.ndarray:
        """The numbers of what is left of ``epoch``'s batches after ``start``, evened out over the ranks (the few
        repeated batches are harmless: validation metrics are deduplicated by utterance id)."""
        numbers = np.arange(len(self.epoch_batches(epoch)))
        # The epoch's first batches again after its last, as an uninterrupted pass and a resume on as many ranks do
        if start % self.world_size == 0:
            numbers = np.r_[numbers, numbers[: -len(numbers) % self.world_size]]
        rest = numbers[start:]
        return np.r_[rest, rest[: -len(rest) % self.world_size]]  # resumed on another number of ranks: padded anew

    @property
    def _epoch_done(self) -> bool:
        return self._exhausted or self.trained >= len(self.epoch_batches(self.epoch))

    def _next_pass(self) -> tuple[int, int, int]:
        """(epoch, start, offset) of the pass the next iteration serves: the rest of this epoch, unless it has
        been served to its end."""
        if self._epoch_done:
            return self.epoch + 1, 0, 0
        return self.epoch, self.trained, self.offset + self.consumed

    def __iter__(self) -> Iterator[list[int]] | Iterator[list[SampleKey]]:
        epoch, start, offset = self._next_pass()
        if epoch != self.epoch:
            self.set_epoch(epoch)
        self.start, self.offset, self.consumed = start, offset, 0
        mine = self._pass(epoch, start)[self.rank :: self.world_size]
        batches, (utterances, copies, speeds) = self._cached[epoch]
        for batch in map(batches.__getitem__, mine.tolist()):
            if self.epoch_speeds is None:
                yield batch if self.mix is None else utterances[batch].tolist()
            else:
                keys = zip(utterances[batch].tolist(), speeds[batch].tolist(), copies[batch].tolist(), strict=True)
                yield [SampleKey(utterance, epoch, speed, copy) for utterance, speed, copy in keys]
        self._exhausted = True

    def __len__(self) -> int:
        """The epoch's batches as this rank's training loop counts them: those it counted before the pass about
        to start (or under way), a restored run's included, plus the pass's own. With speed perturbation the
        count differs a little between epochs, so the Trainer re-reads it (``reload_dataloaders_every_n_epochs``)."""
        under_way = self.consumed and not self._epoch_done
        epoch, start, offset = (self.epoch, self.start, self.offset) if under_way else self._next_pass()
        return offset + math.ceil(len(self._pass(epoch, start)) / self.world_size)
