"""The waveform transforms of an augmentation chain; each applies with its probability."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import soxr

from vasr.audio import SAMPLE_RATE


class NoiseSource(Protocol):
    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray: ...


class RoomSource(Protocol):
    def draw(self, rng: np.random.Generator) -> np.ndarray: ...


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Kaldi-style speed perturbation: tempo and pitch both scale by ``factor`` (1.1 is 10% shorter)."""
    if factor == 1.0:
        return audio
    return soxr.resample(audio, SAMPLE_RATE * factor, SAMPLE_RATE).astype(np.float32)


def fft_convolve(audio: np.ndarray, response: np.ndarray) -> np.ndarray:
    """The full linear convolution of ``audio`` with ``response``, through the FFT."""
    size = audio.size + response.size - 1
    fast = 1 << (size - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(audio, fast) * np.fft.rfft(response.astype(np.float32), fast), fast)[:size]


def power(audio: np.ndarray) -> float:
    return float(np.mean(np.square(audio, dtype=np.float64))) if audio.size else 0.0


class Reverb:
    """The utterance heard in a room: convolved with an impulse response, aligned at its direct path,
    cut to the utterance's length (the tail past the end is dropped, so durations stay as planned)."""

    def __init__(self, rooms: RoomSource, p: float = 0.5) -> None:
        self.rooms = rooms
        self.p = p

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.p:
            return audio
        response = self.rooms.draw(rng)
        direct = int(np.argmax(np.abs(response)))
        wet = fft_convolve(audio, response / max(float(np.abs(response[direct])), 1e-9))
        wet = wet[direct : direct + audio.size]
        return (wet * np.sqrt(power(audio) / max(power(wet), 1e-12))).astype(np.float32)


class AddNoise:
    """Noise from one of ``sources`` (uniformly) at a signal-to-noise ratio drawn from ``snr_db``."""

    def __init__(
        self,
        sources: Mapping[str, NoiseSource] | Sequence[NoiseSource],
        snr_db: Sequence[float] = (0.0, 20.0),
        p: float = 0.5,
    ) -> None:
        self.sources = list(sources.values()) if isinstance(sources, Mapping) else list(sources)
        self.sources = [s for s in self.sources if s is not None]
        if not self.sources:
            raise ValueError("AddNoise needs at least one noise source")
        self.snr_db = tuple(snr_db)
        self.p = p

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.p:
            return audio
        source = self.sources[int(rng.integers(len(self.sources)))]
        snr = rng.uniform(*self.snr_db)
        return mix(audio, source.draw(rng, audio.size), snr)


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``noise`` scaled to ``snr_db`` against the speech's mean power (silent noise adds nothing)."""
    noise_power = power(noise)
    if noise_power <= 0:
        return speech
    scale = np.sqrt(power(speech) / (noise_power * 10 ** (snr_db / 10)))
    return (speech + scale * noise).astype(np.float32)
