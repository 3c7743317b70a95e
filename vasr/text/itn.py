"""Inverse text normalisation: spoken Vietnamese numbers back to the written forms the corpus annotates.

The exact inverse of :func:`vasr.text.numbers.verbalize_numbers` where that is defined: a run of
number words becomes digits only if verbalising those digits gives the run back (so "hai mươi mốt"
is 21 and "hai mốt" stays words), "phần trăm" after a number becomes "%", "A phẩy B" a decimal with
a comma, and a number of five digits or more is grouped with dots as Vietnamese writes it ("mười
nghìn" is "10.000", "một triệu" "1.000.000"; :func:`vasr.text.numbers.written_number`). Vietnamese
number words are also ordinary words ("một" a, "không" not, "năm" year, "tư" private), so a number of
one word is rewritten only where the corpus writes digits: after a word that announces a quantity
(mức, lúc, thêm, ...) or before a unit (giờ, phút, độ, %, ...). Everything else is left as it is.
"""

from __future__ import annotations

from vasr.text.numbers import DIGITS, verbalize_number, written_number

UNIT_DIGITS = {**{word: value for value, word in enumerate(DIGITS)}, "mốt": 1, "tư": 4, "lăm": 5}
NUMBER_WORDS = {*UNIT_DIGITS, "mười", "mươi", "trăm", "linh", "lẻ", "nghìn", "ngàn", "triệu", "tỷ"}
SCALE_VALUES = {"tỷ": 10**9, "triệu": 10**6, "nghìn": 1000, "ngàn": 1000}
# Where the corpus writes a one-word number as digits: after these words ...
BEFORE_NUMBER = {
    "mức", "số", "lúc", "giờ", "thêm", "bớt", "lên", "xuống", "đến", "tới", "về", "vào", "sau", "trong",
    "vòng", "khoảng", "kém", "tăng", "giảm", "chỉnh", "đặt",
}  # fmt: skip
# ... or before these.
AFTER_NUMBER = {"giờ", "phút", "giây", "độ", "phần", "tiếng", "ngày", "tuần", "tháng", "mức", "lần", "%"}
LONGEST = 24  # number words in the longest run verbalize_number writes below 10^12


def _triple(words: list[str]) -> int | None:
    """0-999 from its words, permissively (the caller checks the reading by verbalising it again)."""
    value = 0
    if "trăm" in words:
        at = words.index("trăm")
        if at != 1 or words[0] not in UNIT_DIGITS:
            return None
        value, words = 100 * UNIT_DIGITS[words[0]], words[2:]
    if words[:1] in (["linh"], ["lẻ"]):
        words = words[1:]
        if len(words) != 1:
            return None
    if not words:
        return value
    if words[0] == "mười":
        rest = words[1:]
        if len(rest) > 1 or (rest and rest[0] not in UNIT_DIGITS):
            return None
        return value + 10 + (UNIT_DIGITS[rest[0]] if rest else 0)
    if len(words) >= 2 and words[1] == "mươi" and words[0] in UNIT_DIGITS:
        rest = words[2:]
        if len(rest) > 1 or (rest and rest[0] not in UNIT_DIGITS):
            return None
        return value + 10 * UNIT_DIGITS[words[0]] + (UNIT_DIGITS[rest[0]] if rest else 0)
    if len(words) == 1 and words[0] in UNIT_DIGITS:
        return value + UNIT_DIGITS[words[0]]
    return None


def parse_number(words: list[str]) -> int | None:
    """The integer these words say, if verbalising it says exactly them (``lẻ`` for ``linh`` and ``ngàn`` for
    ``nghìn`` allowed); else None."""
    if not words or any(w not in NUMBER_WORDS for w in words):
        return None
    total, rest = 0, words
    for scale, value in SCALE_VALUES.items():
        if scale in rest:
            at = rest.index(scale)
            part = _triple(rest[:at]) if at else None
            if part is None:
                return None
            total, rest = total + part * value, rest[at + 1 :]
    if rest:
        part = _triple(rest)
        if part is None:
            return None
        total += part
    spoken = " ".join("nghìn" if w == "ngàn" else "linh" if w == "lẻ" else w for w in words)
    return total if verbalize_number(total) == spoken else None


def _longest_number(words: list[str], start: int) -> tuple[int, int] | None:
    """(value, end) of the longest run of words from ``start`` that reads as one number."""
    stop = start
    while stop < len(words) and stop - start < LONGEST and words[stop] in NUMBER_WORDS:
        stop += 1
    for end in range(stop, start, -1):
        value = parse_number(words[start:end])
        if value is not None:
            return value, end
    return None


def _fraction(words: list[str], start: int) -> tuple[str, int] | None:
    """The digits after "phẩy": a number, or digit by digit when it starts with "không" ("không năm" = 05)."""
    if start < len(words) and words[start] == "không":
        end = start
        while end < len(words) and words[end] in DIGITS:
            end += 1
        return "".join(str(DIGITS.index(w)) for w in words[start:end]), end
    found = _longest_number(words, start)
    return (str(found[0]), found[1]) if found else None


def written_spans(words: list[str]) -> list[tuple[int, int, str]]:
    """``(start, end, written)`` for consecutive runs of ``words`` covering them all: a number's words become
    one written token, every other word stays itself (so word times can follow the numbers)."""
    spans: list[tuple[int, int, str]] = []
    index = 0
    while index < len(words):
        found = _longest_number(words, index)
        if found is None or (
            found[1] - index == 1 and not _announced(words, index, found[1]) and not _decimal(words, found[1])
        ):
            spans.append((index, index + 1, words[index]))
            index += 1
            continue
        value, end = found
        written = written_number(value)
        if _decimal(words, end) and (fraction := _fraction(words, end + 1)):
            written, end = f"{written},{fraction[0]}", fraction[1]
        if words[end : end + 2] == ["phần", "trăm"]:
            written, end = written + "%", end + 2
        spans.append((index, end, written))
        index = end
    return spans


def inverse_normalize(text: str) -> str:
    """``text`` with its spoken numbers written as the corpus writes them ("bảy mươi ba phần trăm" -> "73%",
    "ba giờ mười phút" -> "3 giờ 10 phút", "mức hai" -> "mức 2", "mười triệu" -> "10.000.000"); other words
    unchanged."""
    return " ".join(written for _, _, written in written_spans(text.split()))


def _decimal(words: list[str], end: int) -> bool:
    return end + 1 < len(words) and words[end] == "phẩy" and _fraction(words, end + 1) is not None


def _announced(words: list[str], start: int, end: int) -> bool:
    """Whether the corpus would write the one-word number at ``words[start]`` in digits."""
    before = words[start - 1] if start else ""
    after = words[end] if end < len(words) else ""
    return before in BEFORE_NUMBER or after in AFTER_NUMBER
