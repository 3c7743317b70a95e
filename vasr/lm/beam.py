"""CTC beam search with an n-gram language model (shallow fusion), through ``pyctcdecode``.

pyctcdecode does the prefix beam search; its own language-model class needs the compiled
``kenlm`` package, so :class:`FusionLM` gives it vasr's :class:`~vasr.lm.ngram.NgramLM`, scoring
as pyctcdecode's kenlm class does (same ``alpha``, ``beta`` and ``unk_score_offset`` meaning).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import track
from transformers import Wav2Vec2CTCTokenizer

from vasr.lm.ngram import BOS, EOS, NgramLM

# pyctcdecode warns at import that kenlm is missing; vasr does not use kenlm.
for _name in ("pyctcdecode.decoder", "pyctcdecode.language_model"):
    logging.getLogger(_name).setLevel(logging.ERROR)
from pyctcdecode.alphabet import Alphabet  # noqa: E402
from pyctcdecode.constants import AVG_TOKEN_LEN  # noqa: E402
from pyctcdecode.decoder import BeamSearchDecoderCTC  # noqa: E402
from pyctcdecode.language_model import AbstractLanguageModel  # noqa: E402

logging.getLogger("pyctcdecode.alphabet").setLevel(logging.WARNING)
log = logging.getLogger("vasr")

LN10 = math.log(10)
LM_DIR = "language_model"


@dataclass(frozen=True)
class BeamSettings:
    """Beam score = ln p_ctc + alpha * ln p_lm + beta per word; unknown words add unk_offset to log10 p_lm.

    At each frame only the ``top_k`` likeliest characters with ln p >= ``token_min_logp`` extend the
    beams. pyctcdecode's threshold alone (-5) lets a near-uniform output (an untrained model, early
    validations) extend every beam by every character: 14 s per 16 s utterance here, 0.35 s with
    the top 8. On a trained model the top 8 changed one word in 4,000 (3.81% WER against 3.78% on a
    demo validation split); raising the threshold to -3 instead cost 1.6 points (5.4%).
    """

    alpha: float = 0.5
    beta: float = 1.0
    unk_offset: float = -3.0
    beam_width: int = 32
    token_min_logp: float = -5.0
    top_k: int = 8


class FusionLM(AbstractLanguageModel):
    """pyctcdecode's language-model interface over an :class:`NgramLM`; a state is the last words."""

    def __init__(self, ngram: NgramLM, settings: BeamSettings) -> None:
        self.ngram = ngram
        self.settings = settings
        self._prefixes = {word[:i] for word in ngram.vocab for i in range(1, len(word) + 1)}

    @property
    def order(self) -> int:
        return self.ngram.order

    def get_start_state(self) -> tuple[str, ...]:
        return (BOS,)

    def score_partial_token(self, partial_token: str) -> float:
        """A word being spelt that no known word starts with pays the unknown-word offset early."""
        if not partial_token or partial_token in self._prefixes:
            return 0.0
        return self.settings.unk_offset * max(1.0, len(partial_token) / AVG_TOKEN_LEN)

    def score(self, prev_state: tuple[str, ...], word: str, is_last_word: bool = False) -> tuple[float, tuple]:
        log10p = self.ngram.score(prev_state, word)
        if word not in self.ngram:
            log10p += self.settings.unk_offset
        state = (*prev_state, word)[-max(self.order - 1, 1) :]
        if is_last_word:
            log10p += self.ngram.score(state, EOS)
        return self.settings.alpha * log10p * LN10 + self.settings.beta, state


class BeamDecoder:
    """Beam-search transcripts of CTC log-probabilities, with or without an n-gram LM."""

    def __init__(
        self, tokenizer: Wav2Vec2CTCTokenizer, ngram: NgramLM | None = None, settings: BeamSettings = BeamSettings()
    ) -> None:
        vocab = tokenizer.get_vocab()
        labels = sorted(vocab, key=vocab.__getitem__)
        if [vocab[t] for t in labels] != list(range(len(labels))):
            raise ValueError("the tokenizer's ids are not 0..N-1; beam search needs one label per logit column")
        self.ngram = ngram
        self.settings = settings
        lm = FusionLM(ngram, settings) if ngram is not None else None
        self._decoder = BeamSearchDecoderCTC(Alphabet.build_alphabet(labels), lm)

    def decode(self, log_probs: list[torch.Tensor], progress: bool = True) -> list[str]:
        """One transcript per (frames, vocab) log-probability matrix cut to its utterance's frames."""
        options = {"beam_width": self.settings.beam_width, "token_min_logp": self.settings.token_min_logp}
        rows = track(log_probs, description=self.description, transient=True) if progress else log_probs
        return [" ".join(self._decoder.decode(self._top_k(row), **options).split()) for row in rows]

    def _top_k(self, log_probs: torch.Tensor) -> np.ndarray:
        """Each frame's characters outside its top k pushed far below ``token_min_logp``."""
        log_probs = log_probs.detach().float().cpu()
        if self.settings.top_k < log_probs.shape[-1]:
            values, index = log_probs.topk(self.settings.top_k, dim=-1)
            log_probs = torch.full_like(log_probs, -1e4).scatter_(-1, index, values)
        return log_probs.numpy()

    @property
    def description(self) -> str:
        if self.ngram is None:
            return "beam search"
        return f"beam search + {self.ngram.order}-gram (alpha {self.settings.alpha:g}, beta {self.settings.beta:g})"

    def save(self, folder: str | Path, **record: float | str) -> Path:
        """``folder/language_model/``: ``lm.arpa`` and ``decoder.json`` (settings plus ``record``)."""
        if self.ngram is None:
            raise ValueError("no language model to save")
        target = Path(folder) / LM_DIR
        self.ngram.to_arpa(target / "lm.arpa")
        (target / "decoder.json").write_text(json.dumps(asdict(self.settings) | record, indent=1))
        return target

    @classmethod
    def load(cls, folder: str | Path, tokenizer: Wav2Vec2CTCTokenizer) -> BeamDecoder | None:
        """The decoder a model folder ships in ``language_model/``, or None if it has none."""
        target = Path(folder) / LM_DIR
        if not (target / "lm.arpa").exists():
            return None
        saved = json.loads((target / "decoder.json").read_text())
        settings = BeamSettings(**{k: saved[k] for k in BeamSettings.__dataclass_fields__ if k in saved})
        return cls(tokenizer, NgramLM.from_arpa(target / "lm.arpa"), settings)
