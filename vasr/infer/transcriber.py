"""Transcribing recordings of any length, rate and channel count, with word timestamps.

A file is cut into stretches of speech (:mod:`vasr.infer.vad`) and read window by window
(:mod:`vasr.infer.reading`), so memory follows the window, not the recording; windows of many files share
batches. Only each window's chunk frames are kept, and the kept frames of a stretch make one log-probability
matrix, decoded at once by the model's :class:`CTCDecoding` (greedy, or beam search with the n-gram and
hotwords). Word times and confidences come from the CTC frames each word was read from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from transformers import PreTrainedModel

from vasr.audio import SAMPLE_RATE, Recording
from vasr.data.collate import CTCCollator, Example
from vasr.data.features import AudioFeatures
from vasr.decoding.confidence import overall_confidence, word_confidences
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.forward import CTCForward
from vasr.infer.reading import Piece, Planned, RecordingReader, as_read
from vasr.infer.vad import Segmenter
from vasr.infer.vad import segmenter as make_segmenter
from vasr.model.family import family_of
from vasr.text.itn import written_spans


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float | None = None  # vasr.decoding.confidence: how sure the acoustic model was, 0 to 1


@dataclass
class Transcript:
    file: str
    text: str
    duration: float
    words: list[Word] = field(default_factory=list)
    confidence: float | None = None  # all the words' frames together; None without words

    def to_dict(self) -> dict:
        return asdict(self)

    def written(self) -> Transcript:
        """The transcript with its spoken numbers written (:mod:`vasr.text.itn`): a number's words become one
        word from the first one's start to the last one's end, so a subtitle cue never cuts a number."""
        words = [
            Word(text, self.words[start].start, self.words[end - 1].end, least_sure(self.words[start:end]))
            for start, end, text in written_spans([w.word for w in self.words])
        ]
        return Transcript(self.file, " ".join(w.word for w in words), self.duration, words, self.confidence)


@dataclass(frozen=True)
class Failure:
    """A file (or manifest line) that could not be transcribed, and why."""

    file: str
    error: str

    def to_dict(self) -> dict:
        return asdict(self)


def least_sure(words: list[Word]) -> float | None:
    """The confidence of a number written from several spoken words: its least sure word's."""
    known = [w.confidence for w in words if w.confidence is not None]
    return min(known) if known else None


class FileState:
    """A file being transcribed: its plan, the kept frames of each (stretch, window) read so far, and each stretch's
    words once all its windows are in (its frames then freed: memory follows the stretch, not the file)."""

    def __init__(self, planned: Planned) -> None:
        self.planned = planned
        self.kept: dict[tuple[int, int], torch.Tensor] = {}
        self.words: dict[int, list[Word]] = {}
        self.scores: list[tuple[float, int]] = []

    @property
    def complete(self) -> bool:
        return self.planned.error is not None or len(self.words) == len(self.planned.stretches)

    def ready(self) -> list[int]:
        """The stretches whose windows are all in and that are not decoded yet."""
        counts = self.planned.windows
        return [
            number
            for number in range(len(counts))
            if number not in self.words and all((number, w) in self.kept for w in range(counts[number]))
        ]

    def take(self, number: int) -> torch.Tensor:
        """Stretch ``number``'s log-probabilities, its windows' frames given up."""
        return torch.cat([self.kept.pop((number, window)) for window in range(self.planned.windows[number])])


def batches(pieces: list[Piece], budget: int, mixed_lengths: bool) -> Iterator[list[Piece]]:
    """``pieces`` (longest first) in batches of at most ``budget`` padded samples (one piece at least), of one
    length only unless ``mixed_lengths``."""
    group: list[Piece] = []
    for piece in pieces:
        longest = len(group[0].audio) if group else len(piece.audio)
        same = not group or len(piece.audio) == longest
        if group and ((len(group) + 1) * longest > budget or not (mixed_lengths or same)):
            yield group
            group = []
        group.append(piece)
    if group:
        yield group


class Transcriber:
    """A model, its decoding, and how recordings are cut for it and batched.

    Every file's stretches of speech (found by :func:`vasr.infer.vad.segmenter` of kind ``vad``, or made by the
    ``segmenter`` factory, called once in each reading process) and
    their windows are planned together: read in ``workers`` DataLoader processes, gathered until ``plan_seconds``
    of audio wait, sorted by length and batched under ``batch_seconds`` of padded audio, as training batches.
    :class:`~vasr.infer.forward.CTCForward` makes a batch give each window what it gives alone, so a file's text
    does not depend on what it was read with (tests/infer/test_transcriber.py). Each file's result is handed on,
    in input order, as soon as it and every file before it are complete. Windows and word times are in the
    model's family's frames; inputs made by ``features`` (None: the family's default feature extractor's).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        decoding: CTCDecoding,
        chunk_seconds: float = 20.0,
        context_seconds: float = 4.0,
        batch_seconds: float = 120.0,
        plan_seconds: float = 600.0,
        workers: int = 1,
        device: str | None = "auto",
        features: AudioFeatures | None = None,
        vad: str = "auto",
        segmenter: Callable[[], Segmenter] | None = None,
    ) -> None:
        self.family = family_of(model.config)
        self.forward = CTCForward(model, features or self.family.features(), device)
        self.device = self.forward.device
        self.decoding = decoding
        self.ratio = self.family.samples_per_frame
        self.chunk = max(1, round(chunk_seconds * SAMPLE_RATE / self.ratio)) * self.ratio
        self.context = round(context_seconds * SAMPLE_RATE / self.ratio) * self.ratio
        self.batch_samples = round(batch_seconds * SAMPLE_RATE)
        self.plan_samples = round(plan_seconds * SAMPLE_RATE)
        self.workers = workers
        self.make_segmenter = segmenter or partial(make_segmenter, vad, frame=self.ratio)
        self.segmenter_description = self.make_segmenter().description
        self.collate = CTCCollator(self.forward.features)
        self.shortest = next(n for n in range(1, 100 * self.ratio) if self.family.frames(n) > 0)

    @property
    def model(self) -> PreTrainedModel:
        return self.forward.model

    def transcribe(self, files: Iterable[str | Path], workers: int | None = None) -> Iterator[Transcript | Failure]:
        """Each of ``files``' transcript (or why it has none), in their order."""
        listed = list(enumerate(files))
        reader = self.reader(listed)
        workers = min(self.workers if workers is None else workers, len(listed))
        loader = DataLoader(reader, batch_size=None, collate_fn=as_read, num_workers=workers)
        states: dict[int, FileState] = {}
        pool: list[Piece] = []
        pooled, upcoming = 0, 0
        for item in loader:
            if isinstance(item, Planned):  # a second one for a file: it failed while its pieces were read
                states[item.index] = FileState(item)
            else:
                pool.append(item)
                pooled += len(item.audio)
                if pooled >= self.plan_samples:
                    self.run(pool, states)
                    pool, pooled = [], 0
            while upcoming in states and states[upcoming].complete:
                yield self.finish(states.pop(upcoming))
                upcoming += 1
        self.run(pool, states)
        for index in range(upcoming, len(listed)):
            yield self.finish(states.pop(index))

    def __call__(self, path: str | Path) -> Transcript:
        """One file's transcript, read in this process; a file that cannot be read raises ValueError."""
        found = next(self.transcribe([path], workers=0))
        if isinstance(found, Failure):
            raise ValueError(found.error)
        return found

    def run(self, pool: list[Piece], states: dict[int, FileState]) -> None:
        """The model over ``pool``'s pieces, longest first, each piece's kept frames handed to its file; then every
        stretch whose windows are all in decoded."""
        for piece, kept in self.kept_frames(pool):
            states[piece.index].kept[(piece.stretch, piece.window)] = kept
        for state in {piece.index: states[piece.index] for piece in pool}.values():
            if state.planned.error is None:
                for number in state.ready():
                    self.decode(state, number)

    def kept_frames(self, pieces: list[Piece]) -> Iterator[tuple[Piece, torch.Tensor]]:
        """Each piece with the log-probabilities of its kept frames, read in batches, longest first."""
        ordered = sorted(pieces, key=lambda piece: len(piece.audio), reverse=True)
        for group in batches(ordered, self.batch_samples, self.forward.pads_exactly):
            inputs = self.collate([Example(str(n), piece.audio, [], "") for n, piece in enumerate(group)])
            for piece, row in zip(group, self.forward(inputs), strict=True):
                yield piece, row[piece.keep_from : piece.keep_to].clone()  # not a view keeping the batch alive

    def decode(self, state: FileState, number: int) -> None:
        """Stretch ``number`` of ``state``'s file decoded into timed words with confidences."""
        log_probs = state.take(number)
        words = self.decoding.words(log_probs)
        confidences = word_confidences(log_probs, words, self.decoding.tokenizer)
        offset = state.planned.stretches[number][0] / SAMPLE_RATE
        seconds_per_frame = self.family.frame_seconds
        state.words[number] = [
            Word(
                word,
                round(offset + a * seconds_per_frame, 3),
                round(min(offset + b * seconds_per_frame, state.planned.duration), 3),
                round(confidence, 4),
            )
            for (word, a, b), (confidence, _) in zip(words, confidences, strict=True)
        ]
        state.scores += confidences

    def finish(self, state: FileState) -> Transcript | Failure:
        """A complete file's stretches as one timed, scored transcript."""
        planned = state.planned
        if planned.error is not None:
            return Failure(planned.path, planned.error)
        words = [word for number in range(len(planned.stretches)) for word in state.words[number]]
        overall = overall_confidence(state.scores)
        return Transcript(
            planned.path,
            " ".join(w.word for w in words),
            round(planned.duration, 3),
            words,
            None if overall is None else round(overall, 4),
        )

    def log_probs(self, audio: Recording, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """(frames, vocabulary) CTC log-probabilities of samples ``[start, stop)`` of ``audio``, from its windows."""
        stop = audio.samples if stop is None else stop
        pieces = list(self.reader([]).pieces(0, audio, [(start, stop)]))
        kept = {piece.window: frames for piece, frames in self.kept_frames(pieces)}
        return torch.cat([kept[window] for window in range(len(pieces))])

    def reader(self, files: list[tuple[int, str | Path]]) -> RecordingReader:
        return RecordingReader(files, self.make_segmenter, self.chunk, self.context, self.ratio, self.shortest)
