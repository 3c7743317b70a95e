"""Several corpora in one training split: which corpus each utterance is from, and how much of each an epoch draws.

A corpus's ``weight`` is how many times, in expectation, each of its training utterances is drawn per epoch: its
whole part repeats every utterance, its fraction draws that share of the corpus (seeded by seed and epoch, without
replacement). 1 is each utterance once, 3 a small corpus three times over, 0.25 a random quarter of a large one
each epoch, 0 none (the corpus only validates and tests). An epoch thus holds ``sum(weight * utterances)``, and
corpus c's share of its seconds is ``weight_c * seconds_c / sum_k(weight_k * seconds_k)``.

Utterance ids carry their corpus as a prefix (``vivos/VIVOSSPK01_R000``): ids of two corpora never collide, and
every later step (filtering, validation, scoring) can tell the corpus of an utterance from its id alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from vasr.data.index import UtteranceIndex

SEPARATOR = "/"


def corpus_of(uid: str) -> str:
    """The corpus an utterance id names (its prefix)."""
    return uid.split(SEPARATOR, 1)[0]


def groups_of(ids: Iterable[str]) -> dict[str, str]:
    """Each id's corpus: what validation and scoring group their rows by."""
    return {uid: corpus_of(uid) for uid in ids}


def corpus_labels(items: UtteranceIndex, names: Sequence[str]) -> np.ndarray:
    """The number (position in ``names``) of each utterance's corpus."""
    number = {name: n for n, name in enumerate(names)}
    labels = np.fromiter((number.get(corpus_of(uid), -1) for uid in items.column("id")), np.int64, len(items))
    if (labels < 0).any():
        uid = items[int(np.flatnonzero(labels < 0)[0])].id
        raise ValueError(f"utterance {uid} names no corpus of {', '.join(names)}")
    return labels


class CorpusMix:
    """The training split's corpus of each utterance and the corpora's weights: the draw of each epoch."""

    def __init__(self, labels: np.ndarray, weights: Mapping[str, float]) -> None:
        self.names = list(weights)
        self.weights = np.asarray([float(weights[name]) for name in self.names], dtype=np.float64)
        if (self.weights < 0).any() or not np.isfinite(self.weights).all() or not self.weights.any():
            raise ValueError(f"corpus weights {dict(weights)}: each must be >= 0, and one > 0")
        self.labels = np.asarray(labels, dtype=np.int64)
        self.sizes = np.bincount(self.labels, minlength=len(self.names))

    @classmethod
    def of(cls, items: UtteranceIndex, weights: Mapping[str, float]) -> CorpusMix:
        """The mix of a training split whose ids carry their corpus."""
        return cls(corpus_labels(items, list(weights)), weights)

    @property
    def settings(self) -> dict[str, list | str]:
        """What decides every epoch's draw (with the seed): a resumed run must draw the same."""
        # "copies": an utterance drawn twice is two copies with their own speeds (earlier checkpoints: one speed)
        settings = {"corpora": self.names, "weights": self.weights.tolist(), "utterances": self.sizes.tolist()}
        return settings | {"copies": "own speed"}

    def draw(self, seed: int, epoch: int) -> np.ndarray:
        """The training utterances of ``epoch`` (positions, sorted, repeated as the weights say)."""
        rng = np.random.default_rng([seed, epoch])
        rows = []
        for number, weight in enumerate(self.weights.tolist()):
            members = np.flatnonzero(self.labels == number)
            whole, part = divmod(weight, 1.0)
            rows += [members] * int(whole)
            if picked := round(part * len(members)):
                rows.append(rng.choice(members, picked, replace=False))
        return np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)

    def shares(self, durations: np.ndarray) -> dict[str, float]:
        """Each corpus's expected share of an epoch's seconds."""
        seconds = np.bincount(self.labels, weights=durations, minlength=len(self.names)) * self.weights
        return dict(zip(self.names, (seconds / max(seconds.sum(), 1e-9)).tolist(), strict=True))
