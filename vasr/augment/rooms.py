"""Room impulse responses: a folder of measured or simulated ones, or rooms synthesised on the fly."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from vasr.audio import SAMPLE_RATE
from vasr.augment.files import AudioFile, read_segment, scan_folder


class RirFolder:
    """Impulse responses under a folder (RIRS_NOISES' ``simulated_rirs``/``real_rirs_isotropic_noises``,
    BUT ReverbDB, your own measurements); any rate, the first channel of multi-channel ones."""

    def __init__(self, path: str, max_seconds: float = 2.0) -> None:
        self.files = scan_folder(path, "impulse response")
        self.max_seconds = max_seconds

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return _response(self.files[int(rng.integers(len(self.files)))], self.max_seconds)


@lru_cache(maxsize=512)
def _response(file: AudioFile, max_seconds: float) -> np.ndarray:
    return read_segment(file, 0, min(file.frames, int(max_seconds * file.rate)), first_channel=True)


class SyntheticRooms:
    """Statistical room responses (Polack's model): a direct path, sparse early reflections and a
    tail of Gaussian noise decaying by 60 dB in RT60 seconds, high frequencies faster than low.

    One is drawn per utterance, so every utterance is heard in a room of its own; generating one
    costs less than convolving with it (bench/augment.py measures both).
    """

    def __init__(
        self,
        rt60: Sequence[float] = (0.15, 1.0),
        drr_db: Sequence[float] = (-6.0, 12.0),
        reflections: Sequence[int] = (4, 12),
    ) -> None:
        self.rt60 = tuple(rt60)
        self.drr_db = tuple(drr_db)
        self.reflections = tuple(reflections)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        rt60 = rng.uniform(*self.rt60)
        n = int(min(rt60 * 1.2, 2.0) * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        white = rng.standard_normal(n, dtype=np.float32)
        kernel = np.ones(int(rng.integers(2, 9))) / 8
        low = np.convolve(white, kernel, mode="same")  # a crude low band; the rest decays faster
        high = white - low
        tail = low * np.exp(-6.91 * t / rt60) + high * np.exp(-6.91 * t / (rt60 * rng.uniform(0.4, 0.8)))
        onset = int(rng.uniform(0.002, 0.01) * SAMPLE_RATE)  # the tail starts after the first reflections
        tail[:onset] = 0.0
        for _ in range(int(rng.integers(self.reflections[0], self.reflections[1] + 1))):
            at = int(rng.uniform(0.001, 0.05) * SAMPLE_RATE)
            tail[at] += rng.uniform(-1, 1) * np.exp(-6.91 * at / SAMPLE_RATE / rt60) * 3
        drr = 10 ** (rng.uniform(*self.drr_db) / 10)
        rir = tail * np.sqrt(1.0 / (drr * max(float(np.sum(tail**2)), 1e-12)))
        rir[0] = 1.0
        return rir.astype(np.float32)
