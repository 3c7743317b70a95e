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
    chunks = []
    for start in range(0, samples, chunk):
        stop = min(start + chunk, samples)
        left = min(context, start)
        keep_to = None if stop == samples else (left + chunk) // ratio
        chunks.append(Window(start - left, min(stop + context, samples), left // ratio, keep_to))
    return chunks


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
    onnxruntime session is not shared across a fork).

    A file no longer than a chunk is one utterance, read whole as training and ``vasr-evaluate`` read it: cut by
    silero-vad, the shipped model's greedy WER on 60 clean demo utterances was 58.6% against 54.5% read whole (the
    VAD trims word onsets the model was trained to hear after leading silence); longer files are segmented."""

    def __init__(
        self,
        files: list[tuple[int, str | Path]],
        make_segmenter: Callable[[], Segmenter],
        chunk: int,
        context: int,
        ratio: int,
        shortest: int,
    ) -> None:
        self.files, self.make_segmenter = files, make_segmenter
        self.chunk, self.context, self.ratio, self.shortest = chunk, context, ratio, shortest

    def __iter__(self) -> Iterator[Planned | Piece]:
        worker = get_worker_info()
        mine = self.files if worker is None else self.files[worker.id :: worker.num_workers]
        segment = self.make_segmenter()
        for index, path in mine:
            yield from self.read(index, path, segment)

    def read(self, index: int, path: str | Path, segment: Segmenter) -> Iterator[Planned | Piece]:
        """The file's plan, then its pieces; a second, failed plan if reading breaks off (a damaged frame, a file
        gone), so the file is reported and the others go on."""
        try:
            audio = Recording(path)
            whole = audio.samples <= self.chunk  # one utterance, read as training and evaluation read it
            stretches = [(0, audio.samples)] if whole else [tuple(s) for s in segment(audio)]
            counts = tuple(len(windows(b - a, self.chunk, self.context, self.ratio)) for a, b in stretches)
            yield Planned(index, str(path), audio.duration, tuple(stretches), counts)
            yield from self.pieces(index, audio, stretches)
        except Exception as error:  # one unreadable file must not stop the others
            yield Planned(index, str(path), error=f"{type(error).__name__}: {error}".strip())

    def pieces(self, index: int, audio: Recording, stretches: list[tuple[int, int]]) -> Iterator[Piece]:
        """The windows of ``audio``'s stretches, read; one shorter than the model's receptive field (``shortest``
        samples: a tiny file, a last chunk without context) padded with silence up to it."""
        for number, (start, stop) in enumerate(stretches):
            for position, window in enumerate(windows(stop - start, self.chunk, self.context, self.ratio)):
                samples = audio.read(start + window.start, start + window.stop)
                if len(samples) < self.shortest:
                    samples = np.pad(samples, (0, self.shortest - len(samples)))
                yield Piece(index, number, position, samples, window.keep_from, window.keep_to)


def as_read(item: Planned | Piece) -> Planned | Piece:
    """The DataLoader's collate function: items pass as the reader made them (no batching in the workers)."""
    return item
