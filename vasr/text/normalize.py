"""The one normalisation every transcript passes through before vocabularies, training and scoring."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

from vasr.text.numbers import verbalize_numbers

NumberStrategy = Literal["keep", "verbalize"]
NUMBER_STRATEGIES: tuple[str, ...] = ("keep", "verbalize")

# The reference recipe's chars_to_ignore plus the other ASCII/typographic punctuation seen in transcripts.
DEFAULT_DROP = ',?.!-;:"/' + "“”‘’'`()[]{}«»…–—_*#&+=<>|~^@\\"

# A dot or comma between digits is part of the number ("10.000", "3,5"), as vasr's ITN writes it back.
_NUMBER_SEPARATOR = re.compile(r"(?<=\d)[.,](?=\d)")
_KEPT = {".": "\x00", ",": "\x01"}


def normalize(text: str, numbers: NumberStrategy = "keep", drop: str = DEFAULT_DROP) -> str:
    """NFC, lower case, numbers by strategy, ``drop`` characters removed (but not a dot or comma between digits,
    which belongs to the number), whitespace collapsed.

    NFC comes first: decomposed input ("a" + U+0301) would otherwise put bare combining
    accents into the vocabulary and split one letter into two CTC targets.
    """
    if numbers not in NUMBER_STRATEGIES:
        raise ValueError(f"unknown number strategy {numbers!r}; choose one of {NUMBER_STRATEGIES}")
    text = unicodedata.normalize("NFC", text).lower()
    if numbers == "verbalize":
        text = verbalize_numbers(text)
    # Manifests of millions of lines pass through here: the separator regex runs only where a separator is, and
    # the table (a dictionary look-up per character) only where a character to replace is.
    if "." in text or "," in text:
        text = _NUMBER_SEPARATOR.sub(lambda match: _KEPT[match.group()], text)
    found, table = translation(drop)
    if found.search(text):
        text = text.translate(table)
    return " ".join(text.split())


@lru_cache(maxsize=16)
def translation(drop: str) -> tuple[re.Pattern, dict[int, str]]:
    """A pattern finding what to replace, and ``str.translate``'s table replacing it in one pass: each of ``drop``
    becomes a space (so "bật/tắt" stays two words), each protected separator its character again."""
    table = {ord(mark): separator for separator, mark in _KEPT.items()} | {ord(c): " " for c in drop}
    return re.compile("[" + re.escape("".join(map(chr, table))) + "]"), table
