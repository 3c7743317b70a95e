"""CTC outputs to text: the one decoding object validation, test, evaluate.py and transcription share.

Like NeMo's ``model.decoding``, the LightningModule owns a :class:`CTCDecoding` built from
``conf/decode`` (:class:`DecodeConfig`): greedy decoding always, and beam search fused with an
n-gram language model when the config names one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from vasr.decoding.beam import BeamDecoder, BeamSettings
from vasr.decoding.ngram import NgramLM


def uses_attention_mask(config: Wav2Vec2Config) -> bool:
    """Layer-norm feature encoders were trained with an attention mask; group-norm (base) ones without."""
    return config.feat_extract_norm == "layer"


def cut_log_probs(model: Wav2Vec2ForCTC, logits: torch.Tensor, input_lengths: torch.Tensor) -> list[torch.Tensor]:
    """A batch's CTC log-probabilities, each row cut at the frames its true length produced (no padding)."""
    frames = model._get_feat_extract_output_lengths(input_lengths).tolist()
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return [row[: int(n)] for row, n in zip(log_probs, frames, strict=True)]


def greedy_transcripts(tokenizer: Wav2Vec2CTCTokenizer, log_probs: list[torch.Tensor]) -> list[str]:
    """Greedy transcripts of cut log-probability matrices."""
    return tokenizer.batch_decode([row.argmax(dim=-1).tolist() for row in log_probs])


@dataclass
class DecodeConfig:
    """``conf/decode``: which language model (``lm``) and the beam-search settings.

    ``lm``: None (greedy only), ``train`` (Kneser-Ney n-gram of the training transcripts), ``auto``
    (the model folder's ``language_model/``) or the path of a KenLM model (ARPA or binary). Weights left
    None are tuned on validation.
    """

    lm: str | None = None
    order: int = 3
    alpha: float | None = None
    beta: float | None = None
    unk_offset: float = -3.0
    beam_width: int = 32
    token_min_logp: float = -5.0
    top_k: int = 8
    grid: dict[str, list[float]] = field(default_factory=lambda: {"alpha": [0.5], "beta": [1.0]})

    @property
    def settings(self) -> BeamSettings:
        """Beam settings; weights still None take BeamSettings' defaults until tuned."""
        given = {"alpha": self.alpha, "beta": self.beta}
        return BeamSettings(
            **{k: v for k, v in given.items() if v is not None},
            unk_offset=self.unk_offset,
            beam_width=self.beam_width,
            token_min_logp=self.token_min_logp,
            top_k=self.top_k,
        )

    @property
    def needs_tuning(self) -> bool:
        """Weights left unset over a grid of several points; a model folder's own LM (``auto``) keeps its weights."""
        if self.lm in (None, "auto"):
            return False
        alphas, betas = self.weight_grid
        return len(alphas) * len(betas) > 1

    @property
    def weight_grid(self) -> tuple[list[float], list[float]]:
        """The alphas and betas to try: a given weight alone, else its grid."""
        return (
            [self.alpha] if self.alpha is not None else list(self.grid["alpha"]),
            [self.beta] if self.beta is not None else list(self.grid["beta"]),
        )


class CTCDecoding:
    """Greedy transcripts, and beam-search ones with the n-gram when there is one."""

    def __init__(self, tokenizer: Wav2Vec2CTCTokenizer, beam: BeamDecoder | None = None) -> None:
        self.tokenizer = tokenizer
        self.beam = beam

    def greedy(self, log_probs: list[torch.Tensor]) -> list[str]:
        return greedy_transcripts(self.tokenizer, log_probs)

    def with_lm(self, log_probs: list[torch.Tensor], progress: bool = True) -> list[str] | None:
        """Beam search with the n-gram, or None when this decoding has none."""
        return self.beam.decode(log_probs, progress) if self.beam is not None else None

    @classmethod
    def from_config(
        cls,
        cfg: DecodeConfig,
        tokenizer: Wav2Vec2CTCTokenizer,
        train_texts: list[str] | None = None,
        model_dir: str | Path | None = None,
    ) -> CTCDecoding:
        """The decoding ``cfg`` asks for: ``lm=train`` estimates the n-gram from ``train_texts``."""
        if not cfg.lm:
            return cls(tokenizer)
        if cfg.lm == "auto":
            return cls(tokenizer, BeamDecoder.load(model_dir, tokenizer) if model_dir else None)
        if cfg.lm != "train":  # a KenLM model: ARPA or binary
            return cls(tokenizer, BeamDecoder(tokenizer, cfg.lm, cfg.settings))
        if not train_texts:
            raise ValueError("decode.lm=train needs a training split to estimate the n-gram from")
        ngram = NgramLM.train([text.split() for text in train_texts], cfg.order)
        return cls(tokenizer, BeamDecoder.with_ngram(tokenizer, ngram, cfg.settings))
