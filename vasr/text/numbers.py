"""Spoken Vietnamese numbers.

Written by hand because ``num2words(n, lang="vi")`` is right only below 1000: it reads
1024 as "một nghìn lẻ hai mươi bốn" where Vietnamese says "một nghìn không trăm hai mươi tư".
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
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    if len(groups) > len(SCALES):
        raise ValueError(f"number too large to verbalise: {n}")
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        leading = index == len(groups) - 1
        words += _triple(group, full=not leading, linh=linh)
        words.append(SCALES[index])
    return " ".join(w for w in words if w)


_DECIMAL = re.compile(r"(\d+)[.,](\d+)")
_NUMBER = re.compile(r"\d+")


def verbalize_numbers(text: str, *, linh: str = "linh") -> str:
    """Replace every number in ``text`` by its spoken form; "%" becomes "phần trăm", "2,5" "hai phẩy năm"."""
    text = text.replace("%", " phần trăm ")
    text = _DECIMAL.sub(
        lambda m: f"{verbalize_number(int(m[1]), linh=linh)} phẩy {_digits_or_number(m[2], linh)}", text
    )
    return _NUMBER.sub(lambda m: f" {verbalize_number(int(m[0]), linh=linh)} ", text)


def _digits_or_number(fraction: str, linh: str) -> str:
    """Read a decimal fraction as a number unless it has a leading zero ("0,05" -> "không năm")."""
    if fraction.startswith("0"):
        return " ".join(DIGITS[int(d)] for d in fraction)
    return verbalize_number(int(fraction), linh=linh)
