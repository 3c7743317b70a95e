"""The utterances of a split held as a few arrays, not a list of Python objects.

A million :class:`Item` s cost over a gigabyte, and every DataLoader worker inherits them: touching an object
writes its reference count, so each worker's copy of the parent's pages grows private over an epoch
(pytorch/pytorch#13246). Here each text column is one UTF-8 blob with an offsets array (paths: a coded folder and
a file name), durations and line numbers are numpy arrays, and an :class:`Item` is made only when one is asked for.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

COLUMNS = ("id", "text", "path", "sentence", "manifest")
REPEATED = ("manifest",)  # held as a RepeatedColumn: a few distinct values over all rows
FOLDERED = ("path",)  # held as a PathColumn: a folder of a few thousand, and a file name
# The layout of UtteranceIndex.arrays(): a file of another layout (an older vasr's) is never read as this one.
ARRAYS_LAYOUT = 3
CHUNK = 16_384  # rows handled at a time where a whole column as Python objects would cost tens of MB


def values(array: np.ndarray) -> Iterator:
    """The elements of ``array`` as Python numbers, a chunk at a time (not a million objects at once)."""
    for first in range(0, len(array), CHUNK):
        yield from array[first : first + CHUNK].tolist()


@dataclass(frozen=True)
class Item:
    """One usable utterance: normalised transcript, audio path and header duration."""

    id: str
    text: str
    path: str
    duration: float
    line: int
    sentence: str = ""
    manifest: str = ""

    @property
    def where(self) -> str:
        """``manifest:line``, how errors name this utterance."""
        return f"{self.manifest}:{self.line}"


class StringColumn(Sequence[str]):
    """Strings as one UTF-8 blob and ``len + 1`` offsets: two objects however many strings."""

    def __init__(self, blob: bytes, offsets: np.ndarray) -> None:
        self.blob = blob
        # 4-byte offsets while the blob is under 2 GiB (every corpus but the largest's): 4 MB per million strings
        self.offsets = offsets.astype(np.int32 if len(blob) < 2**31 else np.int64, copy=False)

    @classmethod
    def of(cls, strings: Iterable[str]) -> StringColumn:
        encoded = [value.encode("utf-8") for value in strings]
        return cls(
            b"".join(encoded), np.concatenate([[0], np.cumsum([len(value) for value in encoded], dtype=np.int64)])
        )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:  # positions only: a split is sliced whole, a column never
        return self.blob[self.offsets[i] : self.offsets[i + 1]].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        """Every string in order, sliced by plain ints (a numpy scalar per index costs more than the decoding), a
        chunk of offsets at a time (a million as Python ints would be 36 MB, per column iterated)."""
        view = memoryview(self.blob)
        for first in range(0, len(self), CHUNK):
            offsets = self.offsets[first : first + CHUNK + 1].tolist()
            for start, end in zip(offsets[:-1], offsets[1:], strict=True):
                yield str(view[start:end], "utf-8")

    def joined(self) -> str:
        """All strings end to end, decoded at once: for statistics over characters, not over strings."""
        return self.blob.decode("utf-8")

    def lengths(self) -> np.ndarray:
        """Each string's length in UTF-8 bytes."""
        return np.diff(self.offsets)

    def take(self, rows: np.ndarray) -> StringColumn:
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        view = memoryview(self.blob)
        blob = b"".join(view[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True))
        return StringColumn(blob, np.concatenate([[0], np.cumsum(ends - starts, dtype=np.int64)]))

    @classmethod
    def concat(cls, columns: list[StringColumn]) -> StringColumn:
        """``columns`` end to end."""
        pieces = [s.blob[s.offsets[0] : s.offsets[-1]] for s in columns]
        bases = np.cumsum([0] + [len(piece) for piece in pieces])
        ends = [
            s.offsets[1:].astype(np.int64) - s.offsets[0] + base
            for s, base in zip(columns, bases[:-1].tolist(), strict=True)
        ]
        return cls(b"".join(pieces), np.concatenate([[0], *ends]))

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}.blob": np.frombuffer(self.blob, dtype=np.uint8), f"{name}.offsets": self.offsets}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], name: str) -> StringColumn:
        return cls(arrays[f"{name}.blob"].tobytes(), arrays[f"{name}.offsets"])


class RepeatedColumn(Sequence[str]):
    """Strings that a few values make up (the manifest each utterance came from): each distinct one once, and a
    code per row (4 bytes, where the manifest's path would cost 40 and an offset 8)."""

    def __init__(self, names: StringColumn, codes: np.ndarray) -> None:
        self.names = names
        self.codes = codes.astype(np.int32, copy=False)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> str:
        return self.names[self.codes[i]]

    def __iter__(self) -> Iterator[str]:
        names = list(self.names)
        return (names[code] for code in values(self.codes))

    def take(self, rows: np.ndarray) -> RepeatedColumn:
        return RepeatedColumn(self.names, self.codes[rows])

    @classmethod
    def of(cls, strings: Iterable[str]) -> RepeatedColumn:
        found: dict[str, int] = {}
        codes = np.fromiter((found.setdefault(value, len(found)) for value in strings), dtype=np.int32)
        return cls(StringColumn.of(found), codes)

    @classmethod
    def concat(cls, columns: list[RepeatedColumn]) -> RepeatedColumn:
        """``columns`` end to end, a string two of them hold coded once."""
        found: dict[str, int] = {}
        codes = []
        for column in columns:
            mapping = np.array([found.setdefault(name, len(found)) for name in column.names], dtype=np.int32)
            codes.append(mapping[column.codes] if len(mapping) else column.codes)
        return cls(StringColumn.of(found), np.concatenate(codes) if codes else np.zeros(0, np.int32))

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return self.names.arrays(f"{name}.names") | {f"{name}.codes": self.codes}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], name: str) -> RepeatedColumn:
        return cls(StringColumn.from_arrays(arrays, f"{name}.names"), arrays[f"{name}.codes"])


class PathColumn(Sequence[str]):
    """Audio paths as their folder (coded: a corpus has a few thousand) and file name: a million absolute paths
    are ~45 MB as one blob, ~15 MB so."""

    def __init__(self, folders: RepeatedColumn, names: StringColumn) -> None:
        self.folders = folders
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> str:
        return self.folders[i] + self.names[i]

    def __iter__(self) -> Iterator[str]:
        return map(str.__add__, self.folders, self.names)

    def take(self, rows: np.ndarray) -> PathColumn:
        return PathColumn(self.folders.take(rows), self.names.take(rows))

    def resolved(self) -> Iterator[str]:
        """Every path with its folder absolute and its links resolved (``os.path.realpath``), each folder once."""
        folders = [os.path.join(os.path.realpath(folder), "") for folder in self.folders.names]
        return map(str.__add__, map(folders.__getitem__, values(self.folders.codes)), self.names)

    @classmethod
    def concat(cls, columns: list[PathColumn]) -> PathColumn:
        """``columns`` end to end."""
        return cls(
            RepeatedColumn.concat([column.folders for column in columns]),
            StringColumn.concat([column.names for column in columns]),
        )

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return self.folders.arrays(f"{name}.folders") | self.names.arrays(f"{name}.names")

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], name: str) -> PathColumn:
        return cls(
            RepeatedColumn.from_arrays(arrays, f"{name}.folders"), StringColumn.from_arrays(arrays, f"{name}.names")
        )


Column = StringColumn | RepeatedColumn | PathColumn
KINDS: dict[str, type[Column]] = {
    name: RepeatedColumn if name in REPEATED else PathColumn if name in FOLDERED else StringColumn for name in COLUMNS
}


class IndexBuilder:
    """Items appended one at a time (validation's output) into the columns of an :class:`UtteranceIndex`: held as
    objects a chunk at a time, each chunk encoded column by column in a few C-level passes (one encode and one
    resize per string cost more than reading the manifest's line)."""

    def __init__(self) -> None:
        self.pending: list[Item] = []
        # bytearrays grow in place (realloc, mremap once large), so the heap is not left holding freed chunks
        self.blobs = {name: bytearray() for name in COLUMNS if name not in REPEATED}
        self.lengths: dict[str, list[np.ndarray]] = {name: [] for name in self.blobs}
        self.found: dict[str, dict[str, int]] = {name: {} for name in REPEATED + FOLDERED}
        self.codes = {name: array("i") for name in self.found}
        self.durations = array("d")
        self.lines = array("q")

    def __len__(self) -> int:
        return len(self.durations)

    def append(self, item: Item) -> None:
        self.pending.append(item)
        self.durations.append(item.duration)
        self.lines.append(item.line)
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        for name in COLUMNS:
            strings = [getattr(item, name) for item in self.pending]
            if name in FOLDERED:  # the folder coded, the file name kept
                cuts = [value.rfind("/") + 1 for value in strings]
                found = self.found[name]
                self.codes[name].extend(
                    found.setdefault(value[:cut], len(found)) for value, cut in zip(strings, cuts, strict=True)
                )
                strings = [value[cut:] for value, cut in zip(strings, cuts, strict=True)]
            if name in REPEATED:
                found = self.found[name]
                self.codes[name].extend(found.setdefault(value, len(found)) for value in strings)
            else:
                encoded = [value.encode("utf-8") for value in strings]
                self.blobs[name] += b"".join(encoded)
                self.lengths[name].append(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
        self.pending = []

    def coded(self, name: str) -> RepeatedColumn:
        """Column ``name``'s codes (its folders', for paths), the builder's copy let go."""
        return RepeatedColumn(StringColumn.of(self.found[name]), np.frombuffer(self.codes.pop(name), np.int32).copy())

    def strings(self, name: str) -> StringColumn:
        """Column ``name``'s strings (file names, for paths), the builder's copy let go."""
        return StringColumn(bytes(self.blobs.pop(name)), np.concatenate([[0], *self.lengths.pop(name)]).cumsum())

    def build(self) -> UtteranceIndex:
        self.flush()
        columns: dict[str, Column] = {}
        for name in COLUMNS:  # each column's buffer let go once copied: one column held twice at a time, not all
            if name in REPEATED:
                columns[name] = self.coded(name)
            elif name in FOLDERED:
                columns[name] = PathColumn(self.coded(name), self.strings(name))
            else:
                columns[name] = self.strings(name)
        durations = np.frombuffer(self.durations, dtype=np.float64).copy()
        return UtteranceIndex(columns, durations, np.frombuffer(self.lines, dtype=np.int64).copy())


class UtteranceIndex(Sequence[Item]):
    """A split's utterances (a ``Sequence[Item]``): what the sampler, dataset and splits hold instead of a list."""

    def __init__(self, columns: dict[str, Column], durations: np.ndarray, lines: np.ndarray) -> None:
        self.columns = columns
        self.durations = durations
        self.lines = lines

    @classmethod
    def of(cls, items: Iterable[Item]) -> UtteranceIndex:
        """``items`` as an index (an index as it is), for callers that hold a list."""
        if isinstance(items, UtteranceIndex):
            return items
        builder = IndexBuilder()
        for item in items:
            builder.append(item)
        return builder.build()

    def __len__(self) -> int:
        return len(self.durations)

    @overload
    def __getitem__(self, i: int) -> Item: ...
    @overload
    def __getitem__(self, i: slice) -> UtteranceIndex: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        if not -len(self) <= i < len(self):
            raise IndexError(f"utterance {i} of {len(self)}")
        i = int(i) % len(self)
        strings = {name: column[i] for name, column in self.columns.items()}
        return Item(duration=float(self.durations[i]), line=int(self.lines[i]), **strings)

    def __iter__(self) -> Iterator[Item]:
        return (self[i] for i in range(len(self)))

    def column(self, name: str) -> Column:
        """One string column (``id``, ``text``, ``path`` …) without making Items."""
        return self.columns[name]

    def take(self, rows: np.ndarray) -> UtteranceIndex:
        """The utterances at ``rows`` (positions, or a boolean mask), in that order."""
        rows = np.asarray(rows)
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64)
        return UtteranceIndex(
            {name: column.take(rows) for name, column in self.columns.items()}, self.durations[rows], self.lines[rows]
        )

    @classmethod
    def concat(cls, parts: Sequence[UtteranceIndex], consume: bool = False) -> UtteranceIndex:
        """``parts`` one after another in one index (several corpora's splits as one split); ``consume`` empties
        the parts column by column as they are joined (a manifest's pieces: joined without holding it twice)."""
        if not parts:
            return cls.of([])
        columns = {}
        for name in COLUMNS:
            columns[name] = KINDS[name].concat(
                [part.columns.pop(name) if consume else part.columns[name] for part in parts]
            )
        durations = np.concatenate([part.durations for part in parts])
        return cls(columns, durations, np.concatenate([part.lines for part in parts]))

    def prefixed(self, prefix: str) -> UtteranceIndex:
        """The same utterances with ``prefix`` before each id: ids of several corpora kept apart."""
        ids, head = self.columns["id"], prefix.encode("utf-8")
        view = memoryview(ids.blob)
        starts, ends = ids.offsets[:-1].tolist(), ids.offsets[1:].tolist()
        blob = b"".join(head + view[s:e] for s, e in zip(starts, ends, strict=True))
        offsets = np.concatenate([[0], np.cumsum(ids.lengths() + len(head), dtype=np.int64)])
        return UtteranceIndex(self.columns | {"id": StringColumn(blob, offsets)}, self.durations, self.lines)

    def arrays(self) -> dict[str, np.ndarray]:
        """The index as named arrays (``numpy.savez``'s input): how one process hands it to others."""
        found = {"durations": self.durations, "lines": self.lines}
        for name, column in self.columns.items():
            found |= column.arrays(name)
        return found

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> UtteranceIndex:
        """The index :meth:`arrays` gave."""
        columns = {name: kind.from_arrays(arrays, name) for name, kind in KINDS.items()}
        return cls(columns, arrays["durations"], arrays["lines"])

    def __repr__(self) -> str:
        return f"UtteranceIndex({len(self)} utterances, {self.durations.sum() / 3600:.2f} h)"
