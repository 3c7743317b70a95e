"""Vietnamese text: normalisation, number verbalisation and CTC vocabularies."""

from vasr.text.normalize import DEFAULT_DROP, normalize
from vasr.text.numbers import verbalize_number

__all__ = ["DEFAULT_DROP", "normalize", "verbalize_number"]
