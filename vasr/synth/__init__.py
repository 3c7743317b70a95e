"""Offline synthetic Vietnamese speech corpora (templates + eSpeak NG)."""

from vasr.synth.corpus import write_corpus

__all__ = ["write_corpus"]
