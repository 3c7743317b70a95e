"""Training audio in shards: tar files in WebDataset's layout, written once, read in order by the training loader.

A shard ``train-000003.tar`` holds, per utterance, the file's own bytes (``<key>.wav``, ``.mp3``...; or lossless
``<key>.flac``) and ``<key>.json`` (id, sentence, duration); keys are the member's number in the shard
(``000017``), so any tar reader, or WebDataset itself, reads them. Beside the shards, ``train.jsonl`` indexes them
as an ordinary manifest (``file`` is ``train-000003.tar#000017@84992``: the member and its tar header's offset;
duration stated): the corpus is validated, its vocabulary built and its batches planned from that index, without
opening a shard. Validation and test are sharded alike (``val-NNNNNN.tar``, ``val.jsonl``...), so the folder holds
everything a run reads; every scoring path (export, LM tuning, vasr-evaluate) reads their members by path, in order.

Training reads each shard from its start to its end (one open and one sequential read per shard, not one per
utterance): what a cluster file system serves well. docs/data.md compares the formats and says why this one.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from vasr.audio import MEMBER_MARK, split_member
from vasr.data.index import Item, UtteranceIndex
from vasr.data.sources import ManifestError
from vasr.data.splits import SPLITS

AudioEncoding = Literal["flac", "original"]
# Source subtypes FLAC holds sample for sample: the others (float, MP3...) keep their own bytes.
LOSSLESS = ("PCM_16", "PCM_24", "PCM_S8")
FORMAT_FILE = "shards.json"
# A member's place in a stream: the shard's place among the stream's shards times this, plus its number.
STRIDE = 1 << 32


class ShardError(RuntimeError):
    """A shard that does not hold what its index says."""


def encode(path: str, audio: AudioEncoding) -> tuple[bytes, str]:
    """The bytes a shard stores for the audio file ``path``, and their extension: lossless FLAC when asked and the
    source is PCM (the loader decodes the same samples), else the file's own bytes."""
    source = Path(path)
    if audio == "flac":
        info = sf.info(path)
        if info.format != "FLAC" and info.subtype in LOSSLESS:
            samples, rate = sf.read(path, dtype="int32", always_2d=True)
            buffer = io.BytesIO()
            sf.write(buffer, samples, rate, format="FLAC", subtype=info.subtype)
            return buffer.getvalue(), "flac"
    return source.read_bytes(), source.suffix.lower().lstrip(".") or "audio"


class ShardWriter:
    """Utterances appended into ``<prefix>-NNNNNN.tar`` files of ``shard_size`` utterances each."""

    def __init__(self, folder: Path, prefix: str, shard_size: int, audio: AudioEncoding) -> None:
        if shard_size < 1:
            raise ValueError(f"shard_size is {shard_size}: give at least 1")
        self.folder, self.prefix, self.shard_size, self.audio = folder, prefix, shard_size, audio
        self.tar: tarfile.TarFile | None = None
        self.shards = 0
        self.count = 0

    def add(self, item: Item) -> str:
        """Write ``item``'s audio and metadata; its ``file`` in the index (``SHARD.tar#KEY@OFFSET``, relative; the
        offset of its tar header lets a reader start there)."""
        if self.tar is None or self.count == self.shard_size:
            self.close()
            path = self.folder / f"{self.prefix}-{self.shards:06d}.tar"
            self.tar = tarfile.open(path, "w", format=tarfile.GNU_FORMAT)  # noqa: SIM115 (open across add calls)
            self.shards += 1
            self.count = 0
        key, offset = f"{self.count:06d}", self.tar.offset  # where the member's header starts
        data, ext = encode(item.path, self.audio)
        meta = {"id": item.id, "sentence": item.sentence, "duration": item.duration}
        for name, payload in ((f"{key}.{ext}", data), (f"{key}.json", json.dumps(meta, ensure_ascii=False).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            self.tar.addfile(info, io.BytesIO(payload))
        self.count += 1
        return f"{self.prefix}-{self.shards - 1:06d}.tar#{key}@{offset}"

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()
            self.tar = None


def write_shards(
    splits: dict[str, UtteranceIndex], folder: str | Path, shard_size: int = 1000, audio: AudioEncoding = "original"
) -> dict:
    """Each split into its own shards (``train-NNNNNN.tar``, ``val-…``, ``test-…``) indexed by ``<split>.jsonl``, so
    the folder holds all a run reads and moves as one; ``shards.json`` says what was written (returned)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {name: shard_split(splits.get(name, UtteranceIndex.of([])), folder, name, shard_size, audio)
              for name in SPLITS}  # fmt: skip
    summary = {
        "format": "webdataset",
        "audio": audio,
        "shard_size": shard_size,
        "shards": counts,
        "utterances": {name: len(items) for name, items in splits.items()},
        "train_hours": round(float(splits["train"].durations.sum()) / 3600, 4),
    }
    (folder / FORMAT_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def shard_split(items: UtteranceIndex, folder: Path, name: str, shard_size: int, audio: AudioEncoding) -> int:
    """``items`` into ``<name>-NNNNNN.tar`` shards in their order, indexed by ``<name>.jsonl``; how many shards."""
    writer = ShardWriter(folder, name, shard_size, audio)
    try:
        with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as index:
            for item in items:
                record = {"id": item.id, "sentence": item.sentence, "file": writer.add(item), "duration": item.duration}
                index.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        writer.close()
    return writer.shards


def shard_manifests(folder: str | Path) -> dict[str, Path]:
    """The split manifests of a folder :func:`write_shards` wrote."""
    folder = Path(folder)
    if not (folder / FORMAT_FILE).is_file():
        raise ManifestError(f"{folder}: no {FORMAT_FILE}; data.shards names a folder vasr-shard wrote")
    return {name: folder / f"{name}.jsonl" for name in SPLITS}


def is_sharded(items: UtteranceIndex) -> bool:
    """Whether a split's audio lies in shards (its paths name shard members)."""
    return len(items) > 0 and MEMBER_MARK in items.columns["path"][0]


# A run of consecutive members of one shard: (shard number, first member number, member number past the last,
# the byte offset of the first member's tar header).
Piece = tuple[int, int, int, int]


@dataclass(frozen=True)
class ShardLayout:
    """Where each utterance of a sharded split lies: its shard (a number into ``paths``) and member number."""

    paths: tuple[str, ...]
    shard: np.ndarray
    member: np.ndarray
    offset: np.ndarray

    @classmethod
    def of(cls, items: UtteranceIndex) -> ShardLayout:
        numbers: dict[str, int] = {}
        shard = np.empty(len(items), dtype=np.int64)
        member = np.empty(len(items), dtype=np.int64)
        offset = np.empty(len(items), dtype=np.int64)
        for row, path in enumerate(items.column("path")):
            if MEMBER_MARK not in path or "@" not in path:
                raise ShardError(f"{path}: not a shard member (SHARD.tar#KEY@OFFSET): a split is sharded whole or not")
            name, key, at = split_member(path)
            shard[row] = numbers.setdefault(name, len(numbers))
            member[row], offset[row] = int(key), at
        return cls(tuple(numbers), shard, member, offset)

    @cached_property
    def order(self) -> tuple[np.ndarray, np.ndarray]:
        """The utterances sorted by shard, then member; where each shard's run starts in that order."""
        order = np.lexsort((self.member, self.shard))
        return order, np.searchsorted(self.shard[order], np.arange(len(self.paths) + 1))

    def members(self, shard: int) -> np.ndarray:
        """The utterances of ``shard`` in the order it holds them."""
        order, starts = self.order
        return order[starts[shard] : starts[shard + 1]]

    def pieces(self, per_shard: int) -> list[tuple[Piece, np.ndarray]]:
        """Each shard cut into ``per_shard`` runs of consecutive members (fewer for a shard with fewer utterances),
        with their utterances."""
        cut = []
        for shard in range(len(self.paths)):
            for rows in np.array_split(self.members(shard), per_shard):
                if len(rows):
                    first, end = int(self.member[rows[0]]), int(self.member[rows[-1]]) + 1
                    cut.append(((shard, first, end, int(self.offset[rows[0]])), rows))
        return cut


class StreamReader:
    """One reader's pieces of shards read in order, each once, keeping the bytes of the members read but not yet
    asked for.

    A member is asked for by its place in the stream (its piece's place times ``STRIDE`` plus its number) with the
    stream's ``watermark``: no member before it is asked for again, so those are dropped, and a reader started
    mid-stream (a resumed run) opens no piece before it. Asked for a member it has passed (a batch served twice),
    it reads again from the watermark.
    """

    def __init__(self, pieces: list[tuple[str, int, int, int]]) -> None:
        self.pieces = pieces
        self.buffer: dict[int, bytes] = {}
        self.watermark = 0
        self.head = -1  # the last place read
        self.members: Iterator[tuple[int, bytes]] | None = None

    def __len__(self) -> int:
        return len(self.buffer)

    def iterate(self, start: int) -> Iterator[tuple[int, bytes]]:
        """(place, audio bytes) of the stream's members from ``start`` on; members outside the pieces and the
        ``.json`` members are skipped unread (tarfile seeks past them)."""
        for place in range(start // STRIDE, len(self.pieces)):
            path, first, end, offset = self.pieces[place]
            with open(path, "rb") as file:
                file.seek(offset)  # tarfile reads the archive from where its file object stands
                with tarfile.open(fileobj=file, mode="r:") as tar:
                    for info in tar:
                        key, _, ext = info.name.partition(".")
                        number = int(key)
                        if number >= end:
                            break
                        if ext != "json" and number >= first and place * STRIDE + number >= start:
                            yield place * STRIDE + number, tar.extractfile(info).read()

    def read(self, position: int, watermark: int) -> bytes:
        if watermark > self.watermark:
            self.watermark = watermark
            self.buffer = {p: data for p, data in self.buffer.items() if p >= watermark}
        if self.members is None or (position <= self.head and position not in self.buffer):
            self.members, self.buffer, self.head = self.iterate(self.watermark), {}, -1
        while position not in self.buffer:
            found = next(self.members, None)
            if found is None:
                place, number = divmod(position, STRIDE)
                raise ShardError(
                    f"{self.pieces[place][0]}: no member {number:06d}; the shard does not match its index (write the "
                    "shards again with vasr-shard)"
                )
            self.head = found[0]
            if found[0] >= self.watermark:
                self.buffer[found[0]] = found[1]
        return self.buffer.pop(position)
