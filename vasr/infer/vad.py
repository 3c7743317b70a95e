"""Where speech is in a recording: the stretches a transcriber reads one at a time.

A segmenter is called with a :class:`~vasr.audio.Recording` and returns ``[(start, stop), ...]``: 16 kHz
sample bounds, in order, not overlapping, inside the file; a silent file gives none. Its ``description``
says which rule made them, for a transcriber's summary. Two kinds:

- :class:`~vasr.infer.silero.SileroSegmenter` (``pip install 'vasr[vad]'``): silero-vad's model on
  onnxruntime, which tells speech from noise. Non-speech between stretches is dropped: on
  ``bench/vad.py``'s noisy recordings keeping it (``keep_gaps``) read 7% more audio at a 1.7-point higher WER
  (noise read becomes inserted words) to miss 1.5% less of the speech (docs/vad.md).
- :class:`EnergySegmenter`, the fallback: cuts mid-pause where the level drops, and keeps everything
  else, since it cannot tell speech from noise; in noise louder than its pause level there is no pause
  and the whole file is one stretch.

:func:`segmenter` picks one (``auto``: silero when its model and onnxruntime are there) and says which.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np

from vasr.audio import SAMPLE_RATE, Recording
from vasr.infer.silero import SileroSegmenter, SileroSettings, SileroUnavailableError

KINDS = ("auto", "silero", "energy")


class Segmenter(Protocol):
    """Speech stretches of a recording, and a line saying how they were found."""

    description: str

    def __call__(self, audio: Recording) -> list[tuple[int, int]]: ...


def frame_energy(audio: Recording, frame: int, block_seconds: float = 30.0) -> np.ndarray:
    """RMS of each ``frame`` samples (16 kHz) of the file, read block by block."""
    energies = []
    block = max(frame, int(block_seconds * SAMPLE_RATE) // frame * frame)
    for start in range(0, audio.samples, block):
        samples = audio.read(start, min(start + block, audio.samples))
        usable = len(samples) // frame * frame
        if usable:
            energies.append(np.sqrt((samples[:usable].reshape(-1, frame) ** 2).mean(axis=1)))
    return np.concatenate(energies) if energies else np.zeros(0)


def speech_segments(audio: Recording, frame: int, pause_seconds: float) -> list[tuple[int, int]]:
    """``[start, stop)`` samples of the stretches between pauses of ``pause_seconds`` or more, cut mid-pause;
    none for a file that is quiet throughout (digital silence).

    A pause is a run of frames below 5% of the file's loud (95th percentile) level. Models are
    fine-tuned on single utterances: read one stretch of speech at a time, standardised alone,
    they see what they were trained on, and a pause between words becomes a word boundary.
    """
    energy = frame_energy(audio, frame)
    if not len(energy):
        return [(0, audio.samples)]
    quiet = energy < max(0.05 * np.percentile(energy, 95), 1e-5)
    if quiet.all():
        return []
    shortest = max(1, round(pause_seconds * SAMPLE_RATE / frame))
    cuts, run = [], 0
    for index, is_quiet in enumerate([*quiet, False]):
        if is_quiet:
            run += 1
            continue
        if run >= shortest and index - run > 0 and index < len(quiet):
            cuts.append((index - run // 2) * frame)
        run = 0
    bounds = [0, *cuts, audio.samples]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


class EnergySegmenter:
    """:func:`speech_segments` as a segmenter: cuts at multiples of ``frame`` samples (the model's frame)."""

    def __init__(self, frame: int = 320, pause_seconds: float = 0.3, reason: str = "") -> None:
        self.frame = frame
        self.pause_seconds = pause_seconds
        self.description = f"energy rule (pauses of {pause_seconds:g} s under 5% of the 95th-percentile level){reason}"

    def __call__(self, audio: Recording) -> list[tuple[int, int]]:
        return speech_segments(audio, self.frame, self.pause_seconds)


def segmenter(
    kind: Literal["auto", "silero", "energy"] = "auto",
    silero: SileroSettings | None = None,
    frame: int = 320,
    pause_seconds: float = 0.3,
) -> Segmenter:
    """The segmenter ``kind`` names: ``silero`` (an error naming what is missing without it), ``energy``
    (``frame`` and ``pause_seconds`` are its settings), or ``auto``: silero when onnxruntime and the
    silero-vad wheel's model are there, else the energy rule, its description saying why."""
    if kind not in KINDS:
        raise ValueError(f"unknown segmenter {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "energy":
        return EnergySegmenter(frame, pause_seconds)
    try:
        return SileroSegmenter(silero)
    except SileroUnavailableError as error:
        if kind == "silero":
            raise
        return EnergySegmenter(frame, pause_seconds, reason=f"; silero-vad unavailable: {error}")
