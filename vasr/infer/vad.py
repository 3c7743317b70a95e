"""Where speech is in a recording: the stretches a transcriber reads one at a time."""

from __future__ import annotations

import numpy as np

from vasr.audio import SAMPLE_RATE, Recording


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
    """``[start, stop)`` samples of the stretches between pauses of ``pause_seconds`` or more, cut mid-pause.

    A pause is a run of frames below 5% of the file's loud (95th percentile) level. Models are
    fine-tuned on single utterances: read one stretch of speech at a time, standardised alone,
    they see what they were trained on, and a pause between words becomes a word boundary.
    """
    energy = frame_energy(audio, frame)
    if not len(energy):
        return [(0, audio.samples)]
    quiet = energy < max(0.05 * np.percentile(energy, 95), 1e-5)
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
