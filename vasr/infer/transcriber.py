"""Transcribing recordings of any length, rate and channel count, with word timestamps.

A file is read window by window (soundfile, soxr to 16 kHz, channels averaged), so memory follows
the window, not the recording. As transformers' ASR pipeline does with ``chunk_length_s`` and
``stride_length_s``, each window is a chunk plus context on both sides; only the chunk's frames are
kept, and the kept frames of all chunks make one log-probability matrix for the whole file, which
is decoded at once by the model's :class:`CTCDecoding` (greedy, or beam search with the n-gram and
hotwords). Word times come from the CTC frames each word was read from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import PreTrainedModel

from vasr.audio import SAMPLE_RATE, Recording
from vasr.data.collate import CTCCollator, Example
from vasr.data.features import AudioFeatures
from vasr.decoding.ctc import CTCDecoding, cut_log_probs
from vasr.infer.posteriors import model_inputs, resolve_device
from vasr.infer.vad import speech_segments
from vasr.model.family import family_of
from vasr.text.itn import written_spans


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float


@dataclass
class Transcript:
    file: str
    text: str
    duration: float
    words: list[Word] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def written(self) -> Transcript:
        """The transcript with its spoken numbers written (:mod:`vasr.text.itn`): a number's words become one
        word from the first one's start to the last one's end, so a subtitle cue never cuts a number."""
        words = [
            Word(text, self.words[start].start, self.words[end - 1].end)
            for start, end, text in written_spans([w.word for w in self.words])
        ]
        return Transcript(self.file, " ".join(w.word for w in words), self.duration, words)


@dataclass(frozen=True)
class Window:
    """Samples ``[start, stop)`` of the file (16 kHz) fed to the model; frames ``[keep_from, keep_to)`` of its
    output belong to this chunk (``keep_to`` None: to the end)."""

    start: int
    stop: int
    keep_from: int
    keep_to: int | None


def windows(samples: int, chunk: int, context: int, ratio: int) -> list[Window]:
    """Chunks of ``chunk`` samples (a multiple of the model's ``ratio`` samples per frame) with ``context``
    on each side; one window when the whole file fits in a chunk plus its context."""
    if samples <= chunk + 2 * context:
        return [Window(0, samples, 0, None)]
    found = []
    for start in range(0, samples, chunk):
        stop = min(start + chunk, samples)
        left = min(context, start)
        last = stop == samples
        keep_to = None if last else (left + chunk) // ratio
        found.append(Window(start - left, min(stop + context, samples), left // ratio, keep_to))
    return found


class Transcriber:
    """A model, its decoding, and how recordings are cut for it: windows and word times in its family's frames,
    inputs made by ``features`` (None: its family's default feature extractor's)."""

    def __init__(
        self,
        model: PreTrainedModel,
        decoding: CTCDecoding,
        chunk_seconds: float = 20.0,
        context_seconds: float = 4.0,
        batch_size: int = 8,
        pause_seconds: float = 0.3,
        device: str | None = "auto",
        features: AudioFeatures | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.family = family_of(model.config)
        self.model = model.eval().to(self.device)
        self.decoding = decoding
        self.ratio = self.family.samples_per_frame
        self.chunk = max(1, round(chunk_seconds * SAMPLE_RATE / self.ratio)) * self.ratio
        self.context = round(context_seconds * SAMPLE_RATE / self.ratio) * self.ratio
        self.batch_size = batch_size
        self.pause_seconds = pause_seconds
        self.collate = CTCCollator(features or self.family.features())

    def log_probs(self, audio: Recording, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """(frames, vocabulary) CTC log-probabilities of samples ``[start, stop)``, from its windows in batches."""
        stop = audio.samples if stop is None else stop
        plan = [
            Window(start + w.start, start + w.stop, w.keep_from, w.keep_to)
            for w in windows(stop - start, self.chunk, self.context, self.ratio)
        ]
        kept: dict[int, torch.Tensor] = {}
        for batch in _batches(plan, self.batch_size):
            examples = [Example(str(index), audio.read(w.start, w.stop), [], "") for index, w in batch]
            inputs = self.collate(examples)
            with torch.inference_mode():
                logits = self.model(**model_inputs(inputs, self.collate.features.input_name, self.device)).logits
            frames = [self.family.frames(int(n)) for n in inputs["input_lengths"]]
            for (index, window), row in zip(batch, cut_log_probs(logits, frames), strict=True):
                kept[index] = row[window.keep_from : window.keep_to].cpu()
        return torch.cat([kept[index] for index in range(len(plan))])

    def __call__(self, path: str | Path) -> Transcript:
        """The file cut at its pauses into stretches of speech, each read (in chunks if long) and decoded."""
        audio = Recording(path)
        seconds_per_frame = self.family.frame_seconds
        found = []
        for start, stop in speech_segments(audio, self.ratio, self.pause_seconds):
            offset = start / SAMPLE_RATE
            found += [
                Word(
                    word,
                    round(offset + a * seconds_per_frame, 3),
                    round(min(offset + b * seconds_per_frame, audio.duration), 3),
                )
                for word, a, b in self.decoding.words(self.log_probs(audio, start, stop))
            ]
        return Transcript(str(path), " ".join(w.word for w in found), round(audio.duration, 3), found)


def _batches(plan: list[Window], size: int) -> Iterator[list[tuple[int, Window]]]:
    """Windows of equal length together (models without an attention mask see no padding), with their index."""
    by_length: dict[int, list[tuple[int, Window]]] = {}
    for index, window in enumerate(plan):
        by_length.setdefault(window.stop - window.start, []).append((index, window))
    for group in by_length.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]
