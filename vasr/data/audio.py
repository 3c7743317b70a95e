"""Audio I/O lives in :mod:`vasr.audio`; this name stays only for ``vasr/recipe/callbacks.py``'s import, until that
line names :mod:`vasr.audio` (the module is then deleted)."""

from vasr.audio import SAMPLE_RATE

__all__ = ["SAMPLE_RATE"]
