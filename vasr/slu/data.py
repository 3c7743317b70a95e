"""SoICT SLU lines as NLU examples: words, BIO tags and the frame (intent, entities), each line checked.

The text is what the NLU model reads at inference: the ASR's transcript with its numbers written back
(:func:`vasr.text.itn.inverse_normalize`), i.e. :func:`vasr.text.normalize` with ``numbers="keep"``.
Entity positions come from ``sentence_annotation`` ("[ device : đèn trần ]"), which must agree with
``sentence`` and with ``entities``; a line that does not is named ``file:line``, or counted and skipped
when asked to.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vasr.slu.metrics import Entity, Frame
from vasr.slu.schema import OUTSIDE, SOICT_ENTITY_TYPES, SOICT_INTENTS
from vasr.text.normalize import normalize

_SPAN = re.compile(r"\[\s*([^:\[\]]+?)\s*:\s*([^\[\]]*?)\s*\]")


class SluLineError(ValueError):
    """An SLU line that cannot be used, located as ``file:line``."""


@dataclass(frozen=True)
class Example:
    """One utterance for the NLU model: its words, a BIO tag per word, and its frame."""

    id: str
    words: tuple[str, ...]
    tags: tuple[str, ...]
    frame: Frame
    where: str = ""


def text_of(sentence: str) -> str:
    """What the NLU model reads: NFC, lower case, written numbers, no punctuation."""
    return normalize(sentence, numbers="keep")


def tagged_words(annotation: str) -> tuple[list[str], list[str], list[Entity]]:
    """Words, BIO tags and (type, filler) entities of a ``sentence_annotation``."""
    words: list[str] = []
    tags: list[str] = []
    entities: list[Entity] = []
    at = 0
    for match in _SPAN.finditer(annotation):
        plain = text_of(annotation[at : match.start()]).split()
        words += plain
        tags += [OUTSIDE] * len(plain)
        kind, filler = match[1].strip(), text_of(match[2]).split()
        words += filler
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(filler) - 1) if filler else []
        entities.append((kind, " ".join(filler)))
        at = match.end()
    rest = text_of(annotation[at:]).split()
    return words + rest, tags + [OUTSIDE] * len(rest), entities


def entities_of(words: Iterable[str], tags: Iterable[str]) -> tuple[Entity, ...]:
    """The (type, filler) entities a BIO tagging marks (an I- tag without its B- starts one)."""
    found: list[tuple[str, list[str]]] = []
    for word, tag in zip(words, tags, strict=True):
        if tag == OUTSIDE:
            found.append(("", []))
            continue
        kind = tag[2:]
        if tag.startswith("I-") and found and found[-1][0] == kind:
            found[-1][1].append(word)
        else:
            found.append((kind, [word]))
    return tuple((kind, " ".join(words)) for kind, words in found if kind)


def check_line(
    record: dict, intents: Iterable[str] = SOICT_INTENTS, entity_types: Iterable[str] = SOICT_ENTITY_TYPES
) -> Example:
    """The example of one SoICT record, or :class:`ValueError` saying what disagrees."""
    for key in ("id", "sentence", "intent", "sentence_annotation", "entities"):
        if key not in record:
            raise ValueError(f'no "{key}"')
    if record["intent"] not in set(intents):
        raise ValueError(f"unknown intent {record['intent']!r}")
    words, tags, marked = tagged_words(record["sentence_annotation"])
    if words != text_of(record["sentence"]).split():
        raise ValueError("sentence_annotation's words are not the sentence's")
    if not isinstance(record["entities"], list) or not all(
        isinstance(e, dict) and {"type", "filler"} <= set(e) for e in record["entities"]
    ):
        raise ValueError('entities must be a list of {"type", "filler"}')
    listed = [(e["type"], text_of(e["filler"])) for e in record["entities"]]
    known = set(entity_types)
    for kind, filler in listed + marked:
        if kind not in known:
            raise ValueError(f"unknown entity type {kind!r}")
        if not filler:
            raise ValueError(f"an empty {kind} filler")
    for kind, filler in listed:
        if f" {filler} " not in f" {' '.join(words)} ":
            raise ValueError(f"the {kind} filler {filler!r} is not in the sentence")
    if Counter(listed) != Counter(marked):
        raise ValueError(f"entities {sorted(listed)} disagree with sentence_annotation's {sorted(marked)}")
    return Example(str(record["id"]), tuple(words), tuple(tags), Frame(record["intent"], tuple(marked)))


def read_examples(
    manifest: str | Path,
    skip_bad: bool = False,
    intents: Iterable[str] = SOICT_INTENTS,
    entity_types: Iterable[str] = SOICT_ENTITY_TYPES,
) -> tuple[dict[str, Example], Counter]:
    """Every SLU example of ``manifest`` by utterance id, and the skipped lines by reason. A bad line raises
    :class:`SluLineError` naming ``file:line``, unless ``skip_bad``; then it is counted."""
    intents, entity_types = tuple(intents), tuple(entity_types)
    found: dict[str, Example] = {}
    skipped: Counter = Counter()
    for number, line in enumerate(Path(manifest).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{manifest}:{number}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            example = check_line(record, intents, entity_types)
        except (json.JSONDecodeError, ValueError) as error:
            if not skip_bad:
                hint = " (data.skip_bad=true skips such lines, counted)"
                raise SluLineError(f"{where}: {error}{hint}") from error
            skipped["not JSON" if isinstance(error, json.JSONDecodeError) else str(error).split(" '")[0][:60]] += 1
            continue
        found[example.id] = Example(example.id, example.words, example.tags, example.frame, where)
    return found, skipped
