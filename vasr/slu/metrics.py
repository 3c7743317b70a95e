"""SLU scores: intent accuracy, entity precision/recall/F1 on exact (type, filler), and SLURP's SLU-F1.

SLU-F1 (Bastianelli et al., SLURP, EMNLP 2020), computed as SLURP's own scripts do
(``scripts/evaluation/metrics/metrics.py`` and ``distance.py`` in github.com/pswietojanski/slurp), credits an
entity whose type is right even when its filler is misheard: each predicted entity, in order, is paired with the
remaining gold entity of its type whose filler is nearest (the first on a tie); the pair counts one true positive
and adds the fillers' distance to both the false positives and the false negatives. The word distance is the
fillers' WER (jiwer, unbounded: a prediction with extra words can cost more than 1), the character distance their
normalised Levenshtein distance (edits over the longer filler's length, in [0, 1]). SLU-F1 is the micro F1 of
the word and character counts summed. Unpaired predictions are false positives, unpaired gold entities false
negatives, as in exact F1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jiwer
from rapidfuzz.distance import Levenshtein

Entity = tuple[str, str]  # (type, filler)


@dataclass(frozen=True)
class Frame:
    """What an utterance means: its intent and its entities."""

    intent: str
    entities: tuple[Entity, ...] = ()

    def to_record(self) -> dict:
        """The SoICT submission shape: ``{"intent", "entities": [{"type", "filler"}]}``."""
        return {"intent": self.intent, "entities": [{"type": t, "filler": f} for t, f in self.entities]}


@dataclass
class Counts:
    """True positives, false positives and false negatives per entity type."""

    tp: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    fp: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    fn: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, other: Counts) -> None:
        for mine, theirs in ((self.tp, other.tp), (self.fp, other.fp), (self.fn, other.fn)):
            for key, value in theirs.items():
                mine[key] += value

    def f1(self, types: Sequence[str] | None = None) -> dict[str, float]:
        """Micro precision, recall and F1 over ``types`` (all by default)."""
        keys = set(types) if types is not None else set(self.tp) | set(self.fp) | set(self.fn)
        tp, fp, fn = (sum(d[k] for k in keys) for d in (self.tp, self.fp, self.fn))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1}


def word_distance(gold: str, predicted: str) -> float:
    """SLURP's ``WordDistance``: the WER of the predicted filler against the gold one.

    SLURP's jiwer raised on an empty gold filler (SLURP's gold spans are never empty) and jiwer 3 still does:
    here an empty gold filler is 0 from an empty prediction and 1 from any other."""
    return jiwer.wer(gold, predicted) if gold.strip() else float(bool(predicted.strip()))


def char_distance(gold: str, predicted: str) -> float:
    """SLURP's ``CharDistance`` (textdistance's normalised Levenshtein): edits over the longer filler's length."""
    return Levenshtein.normalized_distance(gold, predicted)


def exact_counts(gold: Sequence[Entity], predicted: Sequence[Entity]) -> Counts:
    counts, left = Counts(), list(gold)
    for entity in predicted:
        if entity in left:
            counts.tp[entity[0]] += 1
            left.remove(entity)
        else:
            counts.fp[entity[0]] += 1
    for kind, _ in left:
        counts.fn[kind] += 1
    return counts


def distance_counts(
    gold: Sequence[Entity], predicted: Sequence[Entity], distance: Callable[[str, str], float]
) -> Counts:
    """SLURP's span-distance counts: each prediction paired with the nearest gold filler of its type."""
    counts, left = Counts(), list(gold)
    for kind, filler in predicted:
        candidates = [(distance(g_filler, filler), i) for i, (g_kind, g_filler) in enumerate(left) if g_kind == kind]
        if not candidates:
            counts.fp[kind] += 1
            continue
        nearest, index = min(candidates)
        counts.tp[kind] += 1
        counts.fp[kind] += nearest
        counts.fn[kind] += nearest
        left.pop(index)
    for kind, _ in left:
        counts.fn[kind] += 1
    return counts


def slu_scores(gold: Sequence[Frame], predicted: Sequence[Frame]) -> dict:
    """Intent accuracy, exact entity P/R/F1, word-, char- and SLU-F1 (SLURP), per entity type and per intent."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold frames against {len(predicted)} predicted")
    exact, word, char = Counts(), Counts(), Counts()
    by_intent: dict[str, list[bool]] = defaultdict(list)
    for truth, guess in zip(gold, predicted, strict=True):
        by_intent[truth.intent].append(truth.intent == guess.intent)
        exact.add(exact_counts(truth.entities, guess.entities))
        word.add(distance_counts(truth.entities, guess.entities, word_distance))
        char.add(distance_counts(truth.entities, guess.entities, char_distance))
    both = Counts()
    both.add(word)
    both.add(char)
    types = sorted({k for e in (exact, both) for d in (e.tp, e.fp, e.fn) for k in d})
    hits = [hit for row in by_intent.values() for hit in row]
    return {
        "utterances": len(gold),
        "intent_accuracy": sum(hits) / len(hits) if hits else float("nan"),
        "entity": exact.f1(),
        "word_f1": word.f1()["f1"],
        "char_f1": char.f1()["f1"],
        "slu_f1": both.f1()["f1"],
        "per_type": {t: {"f1": exact.f1([t])["f1"], "slu_f1": both.f1([t])["f1"]} for t in types},
        "per_intent": {i: {"accuracy": sum(h) / len(h), "utterances": len(h)} for i, h in sorted(by_intent.items())},
    }
