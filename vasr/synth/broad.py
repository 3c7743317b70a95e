"""General Vietnamese text for pretraining, drawn from installed packages, not from the demo's templates.

Sources (recorded in the model card):
- ``wordfreq`` (its Vietnamese list: ~5,000 real syllables once English words and
  abbreviations are filtered out), sampled with frequencies flattened (``p ~ f**0.4``) so
  rare syllables, rhymes and tones are heard too;
- ``Faker`` with the ``vi_VN`` locale: names, addresses, jobs, colours, companies, lorem sentences;
- numbers, dates and times spoken by ``vasr.text.numbers``.

Every text is normalised and kept to the syllables ``vasr.text.syllables.parse`` accepts, so
what is written is what eSpeak reads.
"""

from __future__ import annotations

import functools

import numpy as np

from vasr.synth.templates import Utterance
from vasr.text.normalize import normalize
from vasr.text.numbers import verbalize_number
from vasr.text.syllables import parse

INTENT = "văn bản chung"  # the SoICT format wants an intent; pretraining text has none
KINDS = ("words", "faker", "numbers", "dates")
KIND_WEIGHTS = (0.55, 0.25, 0.1, 0.1)
_FAKER_FIELDS = (
    "name",
    "address",
    "job",
    "color_name",
    "sentence",
    "city",
    "street_name",
    "company",
    "day_of_week",
    "month_name",
)
_WEEKDAYS = ("thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật")


@functools.cache
def syllable_distribution(size: int = 20000, flatten: float = 0.4) -> tuple[tuple[str, ...], np.ndarray]:
    """wordfreq's most frequent Vietnamese words that are real syllables, with flattened probabilities."""
    import wordfreq

    words = tuple(w for w in wordfreq.top_n_list("vi", size) if parse(w))
    weights = np.array([wordfreq.word_frequency(w, "vi") for w in words]) ** flatten
    return words, weights / weights.sum()


@functools.cache
def _faker():
    from faker import Faker

    return Faker("vi_VN")


def spoken(text: str) -> str:
    """Normalised, numbers spoken, and only real syllables kept."""
    return " ".join(w for w in normalize(text, numbers="verbalize").split() if parse(w))


class BroadTextGenerator:
    """Draws general Vietnamese sentences from a numpy generator, so a seed fixes the corpus."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def words(self) -> str:
        vocabulary, p = syllable_distribution()
        count = int(self.rng.integers(3, 13))
        return " ".join(vocabulary[i] for i in self.rng.choice(len(vocabulary), size=count, p=p))

    def faker(self) -> str:
        fake = _faker()
        fake.seed_instance(int(self.rng.integers(2**31)))
        fields = self.rng.choice(len(_FAKER_FIELDS), size=int(self.rng.integers(1, 4)), replace=False)
        return " ".join(str(getattr(fake, _FAKER_FIELDS[i])()) for i in fields)

    def numbers(self) -> str:
        choice = int(self.rng.integers(4))
        if choice == 0:  # a phone number, digit by digit
            return " ".join(verbalize_number(int(d)) for d in "0" + "".join(map(str, self.rng.integers(0, 10, 9))))
        if choice == 1:  # a decimal
            return f"{int(self.rng.integers(0, 1000))},{int(self.rng.integers(1, 100))}"
        if choice == 2:  # a percentage
            return f"{int(self.rng.integers(1, 101))}%"
        return str(int(10 ** self.rng.uniform(0, 9.5)))  # log-uniform magnitude, up to billions

    def dates(self) -> str:
        choice = int(self.rng.integers(3))
        if choice == 0:
            year = int(self.rng.integers(1900, 2100))
            return f"ngày {int(self.rng.integers(1, 32))} tháng {int(self.rng.integers(1, 13))} năm {year}"
        if choice == 1:
            return f"{int(self.rng.integers(0, 24))} giờ {int(self.rng.integers(0, 60))} phút"
        return f"{_WEEKDAYS[int(self.rng.integers(7))]} tuần {('này', 'sau', 'trước')[int(self.rng.integers(3))]}"

    def utterance(self) -> Utterance:
        kind = KINDS[int(self.rng.choice(len(KINDS), p=KIND_WEIGHTS))]
        text = spoken(getattr(self, kind)())
        return Utterance(INTENT, ((text or self.words(), None),))
