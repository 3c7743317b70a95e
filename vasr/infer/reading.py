"""Recordings read into the pieces a transcriber batches: in DataLoader workers, each file segmented, then cut into
windows (a chunk plus context on both sides, as transformers' pipeline does with ``chunk_length_s`` and
``stride_length_s``), read and resampled to 16 kHz mono window by window, so memory follows the window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from vasr.audio import Recording
from vasr.infer.vad import Segmenter


@dataclass(frozen=True)
class Window:
    """Samples ``[start, stop)`` of a stretch (16 kHz) fed to the model; frames ``[keep_from, keep_to)`` of its
    output belong to this chunk (``keep_to`` None: to the end)."""

    start: int
    stop: int
    keep_from: int
    keep_to: int | None


def windows(samples: int, chunk: int, context: int, ratio: int) -> list[Window]:
    """Chunks of ``chunk`` samples (a multiple of the model's ``ratio`` samples per frame) with ``context``
    on each side; one window when the whole stretch fits in a chunk plus its context."""
    if samples <= chunk + 2 * context:
        return [Window(0, samples, 0, None)]
    found = []
    for start in range(0, samples, chunk):
        stop = min(start + chunk, samples)
        left = min(context, start)
        keep_to = None if stop == samples else (left + chunk) // ratio
        found.append(Window(start - left, min(stop + context, samples), left // ratio, keep_to))
    return found


@dataclass(frozen=True)
class Planned:
    """A file as its reader found it: its stretches of speech (sample bounds) and how many windows each has, or
    why it cannot be read. Comes before the file's pieces."""

    index: int
    path: str
    duration: float = 0.0
    stretches: tuple[tuple[int, int], ...] = ()
    windows: tuple[int, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Piece:
    """One window's samples, and where its kept frames go: file ``index``, stretch, window."""

    index: int
    stretch: int
    window: int
    audio: np.ndarray
    keep_from: int
    keep_to: int | None


class RecordingReader(IterableDataset):
    """``(index, path)`` pairs read as :class:`Planned` then :class:`Piece` items, a file at a time; the files are
    dealt round-robin to the DataLoader's workers, each making its own segmenter (``make_segmenter``: an
    onnxruntime session is not shared across a fork)."""

    def __init__(
        self,
        files: list[tuple[int, str | Path]],
        make_segmenter: Callable[[], Segmenter],
        chunk: int,
        context: int,
        ratio: int,
    ) -> None:
        self.files, self.make_segmenter = files, make_segmenter
        self.chunk, self.context, self.ratio = chunk, context, ratio

    def __iter__(self) -> Iterator[Planned | Piece]:
        worker = get_worker_info()
        mine = self.files if worker is None else self.files[worker.id :: worker.num_workers]
        segment = self.make_segmenter()
        for index, path in mine:
            yield from self.read(index, path, segment)

    def read(self, index: int, path: str | Path, segment: Segmenter) -> Iterator[Planned | Piece]:
        try:
            audio = Recording(path)
            stretches = [tuple(s) for s in segment(audio)]
        except Exception as error:  # one unreadable file must not stop the others
            yield Planned(index, str(path), error=f"{type(error).__name__}: {error}".strip())
            return
        plans = [windows(stop - start, self.chunk, self.context, self.ratio) for start, stop in stretches]
        yield Planned(index, str(path), audio.duration, tuple(stretches), tuple(len(p) for p in plans))
        for number, ((start, _), plan) in enumerate(zip(stretches, plans, strict=True)):
            for position, window in enumerate(plan):
                samples = audio.read(start + window.start, start + window.stop)
                yield Piece(index, number, position, samples, window.keep_from, window.keep_to)


def as_read(item: Planned | Piece) -> Planned | Piece:
    """The DataLoader's collate function: items pass as the reader made them (no batching in the workers)."""
    return item
