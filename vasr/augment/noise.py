"""Where additive noise comes from: a folder of recordings, or built-in sources for an offline corpus.

Every source draws ``n`` samples of 16 kHz noise from the generator it is given, so the same
(seed, epoch, utterance) always gives the same noise, in any worker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from vasr.audio import SAMPLE_RATE, load_audio, standardize
from vasr.augment.files import read_segment, scan_folder

log = logging.getLogger("vasr")


def tile(audio: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``audio`` from a random offset, looped when it is shorter."""
    if audio.size == 0:
        return np.zeros(n, np.float32)
    reps = -(-(n + audio.size) // audio.size)
    start = int(rng.integers(audio.size))
    return np.tile(audio, reps)[start : start + n]


class NoiseFolder:
    """Recordings under a folder (MUSAN's noise/music, ESC-50, DEMAND, your own; any rate and channels).

    A random file and a random segment of it per utterance; files shorter than the utterance loop.
    """

    def __init__(self, path: str) -> None:
        self.files = scan_folder(path, "noise")
        self._unreadable: set[str] = set()

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        file = self.files[int(rng.integers(len(self.files)))]
        frames = -(-n * file.rate // SAMPLE_RATE) + 1
        start = int(rng.integers(max(1, file.frames - frames + 1)))
        try:
            segment = read_segment(file, start, min(frames, file.frames))
        except Exception as error:  # noqa: BLE001 - a bad file must never kill a loader worker
            if file.path not in self._unreadable:
                self._unreadable.add(file.path)
                log.warning("augmentation: noise file %s cannot be read (%s); its draws are silent", file.path, error)
            return np.zeros(n, np.float32)
        return tile(segment, n, rng)


class ColouredNoise:
    """Stationary noise with a 1/f^beta power spectrum: white (0), pink (1), brown (2) and between."""

    def __init__(self, beta: Sequence[float] = (0.0, 2.0)) -> None:
        self.beta = tuple(beta)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        beta = rng.uniform(*self.beta)
        size = 1 << max(n - 1, 1).bit_length()  # a power of two: the FFT's fast sizes
        bins = size // 2 + 1  # white noise's spectrum drawn directly: complex Gaussian bins
        spectrum = rng.standard_normal(bins, dtype=np.float32) + 1j * rng.standard_normal(bins, dtype=np.float32)
        freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE).astype(np.float32)
        spectrum *= np.maximum(freqs, 20.0) ** np.float32(-beta / 2)
        return np.fft.irfft(spectrum, size)[:n].astype(np.float32)


class Hum:
    """Mains hum and appliance whine: a 50 or 60 Hz (or fan-speed) fundamental with random harmonics."""

    def __init__(self, fundamentals: Sequence[float] = (50.0, 60.0, 100.0, 120.0), harmonics: int = 12) -> None:
        self.fundamentals = tuple(fundamentals)
        self.harmonics = harmonics

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        f0 = self.fundamentals[int(rng.integers(len(self.fundamentals)))] * rng.uniform(0.98, 1.02)
        cycles = max(1, round(f0 / 4))  # a quarter second of whole cycles, looped: no click where it repeats
        period = round(cycles * SAMPLE_RATE / f0)
        t = np.arange(period) / period * cycles
        k = np.arange(1, self.harmonics + 1)[:, None]
        amplitudes = rng.uniform(0, 1, (self.harmonics, 1)) / k ** rng.uniform(0.3, 1.5)
        phases = rng.uniform(0, 2 * np.pi, (self.harmonics, 1))
        hum = tile((amplitudes * np.sin(2 * np.pi * k * t + phases)).sum(axis=0), n, rng)
        return (hum + 0.05 * hum.std() * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)


class Babble:
    """Several other utterances of the training split spoken at once (a room of people talking).

    They come from a fixed pool of the corpus (seeded), read once per worker and kept.
    """

    def __init__(self, speakers: Sequence[int] = (3, 7), pool: int = 64) -> None:
        self.speakers = tuple(speakers)
        self.pool_size = pool
        self.paths: list[str] = []

    def bind(self, paths: Sequence[str], seed: int = 0) -> None:
        """The corpus the talkers come from (the DataModule binds the training split)."""
        chosen = np.random.default_rng([seed, 0xBAB]).permutation(len(paths))[: self.pool_size]
        self.paths = [paths[i] for i in sorted(chosen)]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if not self.paths:
            raise RuntimeError("Babble needs the training utterances: bind() them first")
        count = min(int(rng.integers(self.speakers[0], self.speakers[1] + 1)), len(self.paths))
        talkers = rng.choice(len(self.paths), size=count, replace=False)
        return sum(tile(_talker(self.paths[i]), n, rng) for i in sorted(talkers)).astype(np.float32)


@lru_cache(maxsize=256)
def _talker(path: str) -> np.ndarray:
    return standardize(load_audio(path))
