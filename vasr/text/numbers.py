"""Spoken Vietnamese numbers, read as Vietnamese writes them.

Written by hand because ``num2words(n, lang="vi")`` is right only below 1000: it reads
1024 as "một nghìn lẻ hai mươi bốn" where Vietnamese says "một nghìn không trăm hai mươi tư".

Vietnamese groups thousands with a dot and writes decimals with a comma: "1.000.000" is một triệu,
"3,5" ba phẩy năm, "1.234,5" một nghìn hai trăm ba mươi tư phẩy năm. A dot followed by groups of
exactly three digits is thousands grouping ("1.500" is 1500); any other dot between digits ("1.5",
"3.14", "1.0000") can only be a decimal written the English way and is read as one. A comma is always
the decimal separator, so the English "1,000" reads "một phẩy không không không", as a Vietnamese
reader reads it.
"""

from __future__ import annotations

import re

DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
SCALES = ["", "nghìn", "triệu", "tỷ"]


def _tens_and_units(n: int, *, full: bool, linh: str) -> list[str]:
    """Read 0-99 as it follows a hundreds digit (``full``) or stands first."""
    tens, unit = divmod(n, 10)
    if tens == 0:
        if unit == 0:
            return []
        return [linh, DIGITS[unit]] if full else [DIGITS[unit]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if unit == 1 and tens > 1:
        words.append("mốt")
    elif unit == 4 and tens > 1:
        words.append("tư")
    elif unit == 5:
        words.append("lăm")
    elif unit:
        words.append(DIGITS[unit])
    return words


def _triple(n: int, *, full: bool, linh: str) -> list[str]:
    """Read 0-999; ``full`` reads a zero hundreds digit ("không trăm") inside a larger number."""
    hundreds, rest = divmod(n, 100)
    if hundreds or full:
        return [DIGITS[hundreds], "trăm", *_tens_and_units(rest, full=True, linh=linh)]
    return _tens_and_units(rest, full=False, linh=linh)


def verbalize_number(n: int, *, linh: str = "linh") -> str:
    """Spell a non-negative integer in Vietnamese, e.g. 21 -> "hai mươi mốt", 105 -> "một trăm linh năm"."""
    if n < 0:
        return "âm " + verbalize_number(-n, linh=linh)
    if n == 0:
        return DIGITS[0]
    if n >= 1000 ** len(SCALES):
        raise ValueError(f"number too large to verbalise: {n} (the largest scale read is {SCALES[-1]})")
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        leading = index == len(groups) - 1
        words += _triple(group, full=not leading, linh=linh)
        words.append(SCALES[index])
    return " ".join(w for w in words if w)


# A dot-grouped integer with an optional comma fraction, or plain digits with an optional fraction after
# either separator (a dot there, not followed by three-digit groups, is an English decimal point).
_NUMERAL = re.compile(r"(\d{1,3}(?:\.\d{3})+)(?!\d)(?:,(\d+))?|(\d+)(?:[.,](\d+))?")


def written_number(n: int) -> str:
    """``n`` as vasr writes it: dot-grouped from five digits ("10.000", "1.000.000"), plain below ("1000") so a
    year stays "2024"; both "1000" and "1.000" are read as một nghìn."""
    return f"{n:,}".replace(",", ".") if n >= 10_000 else str(n)


def verbalize_numbers(text: str, *, linh: str = "linh") -> str:
    """Replace every number in ``text`` by its spoken form; "%" becomes "phần trăm", "2,5" "hai phẩy năm",
    "10.000.000" "mười triệu" (see the module docstring for the separators)."""
    text = text.replace("%", " phần trăm ")
    return _NUMERAL.sub(lambda m: f" {_say(m, linh)} ", text)


def _say(numeral: re.Match, linh: str) -> str:
    integer, fraction = (numeral[1], numeral[2]) if numeral[1] else (numeral[3], numeral[4])
    words = verbalize_number(int(integer.replace(".", "")), linh=linh)
    return f"{words} phẩy {_digits_or_number(fraction, linh)}" if fraction else words


def _digits_or_number(fraction: str, linh: str) -> str:
    """Read a decimal fraction as a number unless it has a leading zero ("0,05" -> "không năm")."""
    if fraction.startswith("0"):
        return " ".join(DIGITS[int(d)] for d in fraction)
    return verbalize_number(int(fraction), linh=linh)
