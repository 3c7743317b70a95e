"""Batches of sharded training audio: planned from the index on every rank, read shard by shard in the workers.

Each epoch the shards, cut into pieces of consecutive members (at least ``PIECES_PER_READER`` per reader), are
dealt to ``ranks × workers`` readers (seeded; the largest first to the least loaded, so readers hold about equal
seconds), and each reader's utterances are batched as they stream past: a shuffle buffer of ``buffer``
utterances is cut into batches by the file sampler's rule (:func:`make_batches`: similar padded durations,
``batch_size`` utterances or ``max_seconds`` of padded audio), its last, partial batch kept back for the next
buffer once. The plan needs only the index's durations, so every rank makes the same one, with no
communication, and knows every reader's batch count: each reader serves the smallest count (the few batches past
it are left out of that epoch, other ones each epoch), so every rank steps the same number of times and none
waits for another at the epoch's end. With a mix of corpora the epoch's draw decides what is read: a piece is dealt
once per copy the draw makes of some of its utterances, holding just those.

A rank's batches alternate between its workers (batch ``p`` from reader ``p mod workers``, as the DataLoader
hands them out), and the sampler's state is :class:`BucketBatchSampler`'s: batches trained on. A resumed run
makes the interrupted epoch's plan again (with the interrupted run's number of readers) and continues after the
batches trained on: exactly the batches an uninterrupted run would have trained on. Each batch says which
reader's pieces it comes from and where the reader is (the watermark), so whichever worker gets it reads it
correctly; the DataLoader's round-robin only makes that reading sequential.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Sequence

import numpy as np
from transformers import Wav2Vec2CTCTokenizer

from vasr.audio import decode_audio
from vasr.augment.pipeline import Augmentation, SampleKey
from vasr.data.collate import Example
from vasr.data.dataset import SpeechDataset
from vasr.data.index import Item
from vasr.data.mix import CorpusMix
from vasr.data.sampler import BucketBatchSampler, Draw, make_batches, padded_seconds
from vasr.data.shards import STRIDE, Piece, ShardLayout, StreamReader

log = logging.getLogger("vasr")


# Each reader's share is dealt in at least this many pieces of shards: what is left past the equal share of
# batches stays a fraction of a piece per reader, however few the shards (bench/shards.py measures it).
PIECES_PER_READER = 64


class ShardBatch(list):
    """A batch's utterances, with the epoch, the pieces of shards of the reader it comes from (in reading order),
    the reader's watermark (no member placed before it is read by this batch or a later one of the reader), and
    each utterance's place in that stream (its piece's position) and copy (a mix can draw an utterance twice: two
    pieces of the stream hold it)."""

    def __init__(
        self,
        rows: list[int],
        epoch: int,
        stream: tuple[Piece, ...],
        watermark: int,
        places: list[int],
        copies: list[int],
    ) -> None:
        super().__init__(rows)
        self.epoch, self.stream, self.watermark, self.places, self.copies = epoch, stream, watermark, places, copies


def check_readers(utterances: int, readers: int) -> None:
    """Refuse more readers than utterances: a reader without any would make every rank's epoch empty."""
    if utterances < readers:
        raise ValueError(
            f"{utterances} training utterances for {readers} readers (ranks × loader workers): each reader needs "
            "some; use fewer loader workers"
        )


def deal(seconds: np.ndarray, readers: int, rng: np.random.Generator) -> list[list[int]]:
    """Pieces dealt to ``readers``: each, largest first, to the least loaded one (ties by a seeded order), then
    each reader's pieces in a seeded order."""
    check_readers(len(seconds), readers)
    order = rng.permutation(len(seconds))
    order = order[np.argsort(-seconds[order], kind="stable")]
    loads = np.zeros(readers)
    dealt: list[list[int]] = [[] for _ in range(readers)]
    for shard in order.tolist():
        reader = int(np.argmin(loads))
        dealt[reader].append(shard)
        loads[reader] += seconds[shard]
    for shards in dealt:
        rng.shuffle(shards)
    return dealt


def buffered_batches(
    rows: np.ndarray,
    durations: np.ndarray,
    buffer: int,
    batch_size: int | None,
    max_seconds: float | None,
    pad_to: float,
    rng: random.Random,
) -> list[list[int]]:
    """``rows`` (a reader's utterances in reading order) batched ``buffer`` at a time, as they stream past: each
    buffer's batches in a seeded order, its last batch kept for the next buffer when it is not full and none of it
    was kept before (so a batch's utterances lie within two buffers of the stream)."""
    batches: list[list[int]] = []
    pool: list[int] = []
    position = 0
    while position < len(rows):
        take = max(1, buffer - len(pool))
        carried, pool = set(pool), pool + rows[position : position + take].tolist()
        position += take
        made = [
            [pool[i] for i in batch] for batch in make_batches(durations[pool], batch_size, max_seconds, pad_to, rng)
        ]
        keep = position < len(rows) and carried.isdisjoint(made[-1])
        pool = made.pop() if keep and not full(made[-1], durations, batch_size, max_seconds, pad_to) else []
        rng.shuffle(made)
        batches += made
    return batches


def full(batch: list[int], durations: np.ndarray, batch_size: int | None, max_seconds: float | None, pad_to: float):
    """Whether ``batch`` holds as many utterances as its bucket's batches do."""
    length = padded_seconds(float(durations[batch].max()), pad_to)
    return len(batch) >= (batch_size or max(1, int(max_seconds // length + 1e-9)))


class ShardBatchSampler(BucketBatchSampler):
    """:class:`BucketBatchSampler`'s epochs, positions and resume rules, with its batches planned per reader of
    shards (module docstring); ``workers`` is the DataLoader's (0: one reader per rank)."""

    def __init__(
        self,
        durations: Sequence[float],
        layout: ShardLayout,
        buffer: int = 2000,
        workers: int = 0,
        epoch_speeds: Callable[..., Sequence[float]] | None = None,
        **options,
    ) -> None:
        if buffer < 1:
            raise ValueError(f"shuffle_buffer is {buffer}: give at least 1 utterance")
        self.shard_mix: CorpusMix | None = options.pop("mix", None)  # drawn here, piece by piece: not by super()
        super().__init__(durations, **options)
        if self.sortagrad_epochs and self.rank == 0:
            log.info("sharded training: batches come in shard order from the first epoch (sortagrad_epochs unused)")
        self.layout, self.buffer, self.workers, self.shard_speeds = layout, buffer, max(1, workers), epoch_speeds
        self.readers = {}  # the number of readers of an epoch resumed from a run with another number
        check_readers(len(self.durations), self.world_size * self.workers)

    @property
    def settings(self) -> dict[str, float | int | bool | None]:
        return super().settings | {
            "mix": self.shard_mix.settings if self.shard_mix is not None else None,
            "speed_perturbation": self.shard_speeds is not None,
            "shards": len(self.layout.paths),
            "shuffle_buffer": self.buffer,
        }

    def state_dict(self) -> dict:
        return super().state_dict() | {"readers": self.readers.get(self.epoch, self.world_size * self.workers)}

    def load_state_dict(self, state: dict) -> None:
        """As :class:`BucketBatchSampler`; the interrupted epoch is finished as it was planned, for its readers."""
        self.readers = {state["epoch"]: state["readers"]} if "readers" in state else {}
        super().load_state_dict(state)

    def epoch_batches(self, epoch: int | None = None) -> list[list[int]]:
        """The epoch's batches for all ranks, rank ``r``'s ``p``-th at ``p × ranks + r``."""
        epoch = self.epoch if epoch is None else epoch
        if epoch in self._cached:
            return self._cached[epoch][0]
        readers = self.readers.get(epoch, self.world_size * self.workers)
        pieces = self.epoch_pieces(epoch, readers)
        seconds = np.array([self.durations[rows].sum() for _, rows, _ in pieces])
        speeds = self.copy_speeds(epoch, 1 + max((copy for _, _, copy in pieces), default=0))
        planned = []
        for reader, dealt in enumerate(deal(seconds, readers, np.random.default_rng([self.seed, epoch]))):
            stream = [pieces[i] for i in dealt]
            planned.append(self.reader_batches(epoch, reader, stream, speeds))
        count = min(len(batches) for batches in planned)
        left_out = sum(len(row) for batches in planned for row in batches[count:])
        drawn = sum(len(rows) for _, rows, _ in pieces)  # the split, or what a mix draws of it
        if left_out and self.rank == 0:
            many = left_out > 0.1 * drawn  # shards too few or too unequal for the readers
            log.log(
                logging.WARNING if many else logging.INFO,
                "epoch %d: %d of %d utterances past the %d readers' equal share of batches wait for another epoch%s",
                epoch,
                left_out,
                drawn,
                readers,
                " (write smaller shards: vasr-shard --shard-size)" if many else "",
            )
        workers = readers // self.world_size
        batches = [
            planned[rank * workers + p % workers][p // workers]
            for p in range(workers * count)
            for rank in range(self.world_size)
        ]
        kept = {e: v for e, v in self._cached.items() if e >= epoch - 1}
        self._cached = kept | {epoch: (batches, Draw.each_once(np.ones(len(self.durations))))}
        return batches

    def epoch_pieces(self, epoch: int, readers: int) -> list[tuple[Piece, np.ndarray, int]]:
        """The pieces of shards ``epoch`` reads, with their utterances and copy: every piece once, or with a mix,
        each piece once per copy the draw makes of some of its utterances, holding just those (the piece's bounds
        narrowed to them, so fewer members are read past)."""
        cut = self.layout.pieces(max(1, math.ceil(PIECES_PER_READER * readers / len(self.layout.paths))))
        if self.shard_mix is None:
            return [(piece, rows, 0) for piece, rows in cut]
        counts = np.bincount(self.shard_mix.draw(self.seed, epoch), minlength=len(self.durations))
        member, offset = self.layout.member, self.layout.offset
        found = []
        for copy in range(int(counts.max(initial=0))):
            for (shard, *_), rows in cut:
                drawn = rows[counts[rows] > copy]
                if len(drawn):
                    piece = (shard, int(member[drawn[0]]), int(member[drawn[-1]]) + 1, int(offset[drawn[0]]))
                    found.append((piece, drawn, copy))
        return found

    def copy_speeds(self, epoch: int, copies: int) -> np.ndarray:
        """The speed factors of ``epoch``'s utterances, a row per copy (ones without speed perturbation); first
        copies asked with one argument, as an ``epoch_speeds`` of one argument (bench/padding.py's) takes."""
        if self.shard_speeds is None:
            return np.ones((copies, len(self.durations)))
        drawn = [self.shard_speeds(epoch, copy) if copy else self.shard_speeds(epoch) for copy in range(copies)]
        return np.asarray(drawn, dtype=np.float64)

    def reader_batches(
        self, epoch: int, reader: int, stream: list[tuple[Piece, np.ndarray, int]], speeds: np.ndarray
    ) -> list[ShardBatch]:
        """One reader's batches of ``epoch`` from its pieces ``stream`` (with their utterances and copy; ``speeds``
        a row per copy), each with the reader's watermark; batched by place in the stream, so two copies of an
        utterance are two entries."""
        rows = np.concatenate([members for _, members, _ in stream])
        places = np.concatenate([np.full(len(members), place) for place, (_, members, _) in enumerate(stream)])
        copies = np.concatenate([np.full(len(members), copy) for _, members, copy in stream])
        positions = places * STRIDE + self.layout.member[rows]
        durations = self.durations[rows] / speeds[copies, rows]
        rng = random.Random(self.seed * 100_003 + epoch * 1009 + reader)
        entries = np.arange(len(rows))
        batches = buffered_batches(entries, durations, self.buffer, self.batch_size, self.max_seconds, self.pad_to, rng)
        firsts = [int(positions[batch].min()) for batch in batches]
        watermarks = np.minimum.accumulate(firsts[::-1])[::-1].tolist() if batches else []
        pieces = tuple(piece for piece, _, _ in stream)
        return [
            ShardBatch(rows[b].tolist(), epoch, pieces, w, places[b].tolist(), copies[b].tolist())
            for b, w in zip(batches, watermarks, strict=True)
        ]


class ShardDataset(SpeechDataset):
    """The training split read from shards a batch at a time (:class:`ShardBatch`), then augmented and labelled as
    :class:`SpeechDataset` does file audio. Each worker keeps one :class:`StreamReader` per reader it serves."""

    def __init__(
        self,
        items: Sequence[Item],
        tokenizer: Wav2Vec2CTCTokenizer,
        augmentation: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(items, tokenizer, augmentation=augmentation, seed=seed)
        self.layout = ShardLayout.of(self.items)
        self.streams: dict[tuple[int, tuple[Piece, ...]], StreamReader] = {}
        self.speeds: dict[tuple[int, int], np.ndarray] = {}

    def __getitem__(self, key):
        raise TypeError("sharded training audio is read a batch at a time, as ShardBatchSampler plans it")

    def __getitems__(self, batch: ShardBatch) -> list[Example]:
        key = (batch.epoch, batch.stream)
        if key not in self.streams:  # a new epoch's readers replace the last one's
            self.streams = {k: v for k, v in self.streams.items() if k[0] == batch.epoch}
            self.streams[key] = StreamReader([(self.layout.paths[shard], *piece) for shard, *piece in batch.stream])
        reader = self.streams[key]
        examples = []
        for row, place, copy in zip(batch, batch.places, batch.copies, strict=True):
            position = place * STRIDE + int(self.layout.member[row])
            audio = decode_audio(reader.read(position, batch.watermark), self.sample_rate)
            speed = self.speed(batch.epoch, row, copy)
            examples.append(self.example(self.items[row], SampleKey(row, batch.epoch, speed, copy), audio))
        return examples

    def speed(self, epoch: int, row: int, copy: int = 0) -> float:
        """The speed factor the sampler planned ``row``'s ``copy`` with in ``epoch`` (the augmentation's seeded
        draw)."""
        if self.augmentation is None:
            return 1.0
        if (epoch, copy) not in self.speeds:
            kept = {key: value for key, value in self.speeds.items() if key[0] == epoch}
            self.speeds = kept | {(epoch, copy): self.augmentation.epoch_speeds(self.seed, epoch, len(self), copy)}
        return float(self.speeds[epoch, copy][row])
