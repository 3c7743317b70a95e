"""Vietnamese syllables: the alphabet, and a syllable's onset, rhyme and tone.

Used to keep generated pretraining text to real Vietnamese syllables (word lists carry
English names and abbreviations eSpeak would spell out) and to measure how much of the
syllable inventory a corpus covers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Tone marks as NFD combining characters; the level tone (ngang) has none.
TONE_MARKS = {"\u0300": "huyền", "\u0301": "sắc", "\u0309": "hỏi", "\u0303": "ngã", "\u0323": "nặng"}
VOWELS = "aăâeêioôơuưy"
CONSONANTS = "bcdđghklmnpqrstvx"
LOANWORD_LETTERS = "fjwz"
# Longest first, so "ngh" wins over "ng" and "nh" over "n".
ONSETS = sorted(
    ["", *CONSONANTS.replace("q", ""), "ch", "gh", "gi", "kh", "ng", "ngh", "nh", "ph", "qu", "th", "tr"],
    key=len,
    reverse=True,
)
CODAS = ("", "c", "ch", "m", "n", "ng", "nh", "p", "t")
_RHYME = re.compile(f"[{VOWELS}]{{1,3}}(?:{'|'.join(c for c in CODAS if c)})?")


def _with_tone(vowel: str, mark: str) -> str:
    return unicodedata.normalize("NFC", vowel + mark)


# Every letter a Vietnamese transcript can hold, NFC: 12 vowels x 6 tones, the consonants and
# the loanword letters. A vocabulary built from it has a row for every tone-marked vowel even
# when a corpus happens to lack one.
ALPHABET: tuple[str, ...] = tuple(
    sorted({_with_tone(v, m) for v in VOWELS for m in ("", *TONE_MARKS)} | set(CONSONANTS + LOANWORD_LETTERS))
)


@dataclass(frozen=True)
class Syllable:
    onset: str
    rhyme: str  # without the tone mark
    tone: str


def split_tone(syllable: str) -> tuple[str, str]:
    """(the syllable without its tone mark, NFC; the tone's name)."""
    tone = "ngang"
    kept = []
    for char in unicodedata.normalize("NFD", syllable):
        if char in TONE_MARKS:
            tone = TONE_MARKS[char]
        else:
            kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)), tone


def parse(syllable: str) -> Syllable | None:
    """Onset, rhyme and tone of a written syllable, or None if it is not one (an English word, an acronym)."""
    base, tone = split_tone(syllable.lower())
    for onset in ONSETS:
        if base.startswith(onset) and _RHYME.fullmatch(base[len(onset) :]):
            return Syllable(onset, base[len(onset) :], tone)
    return None


def inventory(texts: Iterable[str]) -> dict[str, set[str]]:
    """The distinct syllables, onsets, rhymes and tones used by ``texts`` (space-separated syllables)."""
    found: dict[str, set[str]] = {"syllables": set(), "onsets": set(), "rhymes": set(), "tones": set()}
    for text in texts:
        for word in text.split():
            parsed = parse(word)
            if parsed:
                found["syllables"].add(word)
                found["onsets"].add(parsed.onset)
                found["rhymes"].add(parsed.rhyme)
                found["tones"].add(parsed.tone)
    return found
