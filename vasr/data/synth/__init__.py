"""Offline synthetic Vietnamese speech corpora (templates + eSpeak NG)."""

from vasr.data.synth.corpus import write_corpus

__all__ = ["write_corpus"]
