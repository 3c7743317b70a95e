"""The augmentation of a training run: what each (seed, epoch, utterance) is turned into.

Every draw comes from a generator seeded by (seed, epoch, utterance), never from a worker's own
random state, so the same utterance of the same epoch is the same audio in any worker, with any
number of workers, and after a resume. The speed factors of a whole epoch come from one seeded
draw that the batch sampler reads first: it buckets each utterance by its perturbed duration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from vasr.audio import SAMPLE_RATE
from vasr.augment.transforms import change_speed

_SPEEDS, _AUDIO = 0x5EED, 0xA0D1  # separate streams for the epoch's speeds and each utterance's draws

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def stream(*keys: int, copy: int = 0) -> list[int]:
    """The seed of one random stream; a later copy of an utterance (a mix draws some twice) gets its own, the first
    copy the one it had before copies existed."""
    return [*keys, copy] if copy else list(keys)


class SampleKey(NamedTuple):
    """What the training sampler hands the dataset: the utterance, its epoch, its speed factor and which copy of
    it this is (a mix of corpora can draw one utterance more than once in an epoch)."""

    index: int
    epoch: int
    speed: float = 1.0
    copy: int = 0


class Augmentation:
    """Speed perturbation, then each transform in the order given (``conf/augment``: reverb, noise).

    A transform given as None is off, so ``augment.reverb=null`` drops one from the command line.
    """

    def __init__(self, speeds: Sequence[float] | None = (0.9, 1.0, 1.1), **transforms: Transform | None) -> None:
        self.speeds = tuple(speeds) if speeds else (1.0,)
        self.transforms = {name: t for name, t in transforms.items() if t is not None}

    def __repr__(self) -> str:
        parts = [f"speeds {'/'.join(f'{s:g}' for s in self.speeds)}"]
        parts += [f"{name} (p {getattr(t, 'p', 1.0):g})" for name, t in self.transforms.items()]
        return ", ".join(parts)

    def bind(self, paths: Sequence[str], seed: int) -> None:
        """Sources that draw on the corpus (babble) learn the training split's files."""
        for transform in self.transforms.values():
            for source in getattr(transform, "sources", ()):
                if hasattr(source, "bind"):
                    source.bind(paths, seed)

    def epoch_speeds(self, seed: int, epoch: int, count: int, copy: int = 0) -> np.ndarray:
        """The speed factor of each of ``count`` utterances in ``epoch`` (of their ``copy``-th copies)."""
        if len(self.speeds) == 1:
            return np.full(count, self.speeds[0])
        return np.random.default_rng(stream(_SPEEDS, seed, epoch, copy=copy)).choice(self.speeds, size=count)

    def __call__(self, audio: np.ndarray, seed: int, key: SampleKey, max_samples: int | None = None) -> np.ndarray:
        """``audio`` (16 kHz mono) as utterance ``key`` of ``seed``'s run hears it; at most ``max_samples`` long."""
        audio = change_speed(audio, key.speed)
        if max_samples is not None:
            audio = audio[:max_samples]
        rng = np.random.default_rng(stream(_AUDIO, seed, key.epoch, key.index, copy=key.copy))
        for transform in self.transforms.values():
            audio = transform(audio, rng)
        return audio


def perturbed_samples(duration: float, speed: float) -> int:
    """Samples an utterance of ``duration`` seconds has at ``speed``: what the sampler planned for it."""
    return int(duration * SAMPLE_RATE / speed)
