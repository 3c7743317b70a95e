"""CTC outputs to text: the one decoding object validation, test, evaluate.py and transcription share.

Like NeMo's ``model.decoding``, the LightningModule owns a :class:`CTCDecoding` built from
``conf/decode`` (:class:`~vasr.decoding.config.DecodeConfig`): greedy decoding always, beam search
fused with an n-gram language model (and hotwords) when the config names one, and the words of a
transcript with their frames for timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import Wav2Vec2CTCTokenizer

from vasr.decoding.beam import BeamDecoder
from vasr.decoding.config import DecodeConfig
from vasr.decoding.ngram import NgramLM


def cut_log_probs(logits: torch.Tensor, frames: list[int]) -> list[torch.Tensor]:
    """A batch's CTC log-probabilities, each row cut at the ``frames`` its true length produced (no padding)."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return [row[: int(n)] for row, n in zip(log_probs, frames, strict=True)]


def greedy_transcripts(tokenizer: Wav2Vec2CTCTokenizer, log_probs: list[torch.Tensor]) -> list[str]:
    """Greedy transcripts of cut log-probability matrices."""
    return tokenizer.batch_decode([row.argmax(dim=-1).tolist() for row in log_probs])


class CTCDecoding:
    """Greedy transcripts, and beam-search ones (n-gram, hotwords) when the decoding has a beam."""

    def __init__(
        self,
        tokenizer: Wav2Vec2CTCTokenizer,
        beam: BeamDecoder | None = None,
        hotwords: list[str] | None = None,
        hotword_weight: float = 10.0,
    ) -> None:
        self.tokenizer = tokenizer
        self.beam = beam
        self.hotwords = list(hotwords or [])
        self.hotword_weight = hotword_weight

    def greedy(self, log_probs: list[torch.Tensor]) -> list[str]:
        return greedy_transcripts(self.tokenizer, log_probs)

    def with_lm(self, log_probs: list[torch.Tensor], progress: bool = True) -> list[str] | None:
        """Beam search (with the n-gram and hotwords), or None when this decoding has no beam."""
        if self.beam is None:
            return None
        return self.beam.decode(log_probs, progress, self.hotwords, self.hotword_weight)

    def words(self, log_probs: torch.Tensor) -> list[tuple[str, int, int]]:
        """The best transcript's words with their first and last frames: the beam's when there is one, else
        the greedy path's."""
        if self.beam is not None:
            return self.beam.words(log_probs, self.hotwords, self.hotword_weight)
        ids = log_probs.argmax(dim=-1).tolist()
        offsets = self.tokenizer.decode(ids, output_word_offsets=True).word_offsets
        return [(o["word"], o["start_offset"], o["end_offset"]) for o in offsets]

    def with_beam(self, beam: BeamDecoder) -> CTCDecoding:
        """The same decoding over another beam (LM weights chosen on validation)."""
        return CTCDecoding(self.tokenizer, beam, self.hotwords, self.hotword_weight)

    @property
    def description(self) -> str:
        return self.beam.description if self.beam is not None else "greedy"

    @classmethod
    def from_config(
        cls,
        cfg: DecodeConfig,
        tokenizer: Wav2Vec2CTCTokenizer,
        train_texts: Sequence[str] | None = None,
        model_dir: str | Path | None = None,
    ) -> CTCDecoding:
        """The decoding ``cfg`` asks for: ``lm=train`` estimates the n-gram from ``train_texts``, ``auto`` reads
        ``model_dir``'s (a folder without one: a beam without an n-gram if there are hotwords, else greedy)."""
        extra = {"hotwords": cfg.hotwords, "hotword_weight": cfg.hotword_weight}
        if not cfg.lm:
            return cls(tokenizer)
        if cfg.lm == "auto":
            found = BeamDecoder.load(model_dir, tokenizer) if model_dir else None
            if found is not None:
                return cls(tokenizer, found.with_settings(**cfg.beam) if cfg.beam else found, **extra)
            return (
                cls(tokenizer, BeamDecoder(tokenizer, settings=cfg.settings()), **extra)
                if cfg.hotwords
                else cls(tokenizer)
            )
        if cfg.lm != "train":  # a KenLM model: ARPA or binary
            return cls(tokenizer, BeamDecoder(tokenizer, cfg.lm, cfg.settings()), **extra)
        if not train_texts:
            raise ValueError("decode.lm=train needs a training split to estimate the n-gram from")
        ngram = NgramLM.train([text.split() for text in train_texts], cfg.order)
        return cls(tokenizer, BeamDecoder.with_ngram(tokenizer, ngram, cfg.settings()), **extra)
