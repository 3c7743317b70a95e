"""CTC prefix beam search fused with a KenLM n-gram, in the layout the ecosystem reads.

The search is ``ctc-beam-decoder`` (C++, pyctcdecode's algorithm and arguments, KenLM inside, hotword
biasing, word frame offsets, no numpy pin), or pyctcdecode where it cannot load. A decoder is saved
as pyctcdecode's ``save_to_dir`` lays it out, so ``pyctcdecode.BeamSearchDecoderCTC.load_from_dir`` and
``transformers.Wav2Vec2ProcessorWithLM.from_pretrained`` read vasr's exports, and vasr reads the
``language_model/`` of hub checkpoints (ARPA or KenLM binary)::

    alphabet.json              {"labels": [...], "is_bpe": false}
    language_model/attrs.json  alpha, beta, unk_score_offset, score_boundary
    language_model/unigrams.txt
    language_model/lm.arpa     (or a KenLM .bin)
    vasr_decoding.json         beam width, per-frame pruning, and how the weights were chosen
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.progress import track
from transformers import Wav2Vec2CTCTokenizer

from vasr.decoding.ngram import BOS, EOS, UNK, NgramLM

log = logging.getLogger("vasr")

LM_DIR = "language_model"
ALPHABET_FILE = "alphabet.json"
SETTINGS_FILE = "vasr_decoding.json"
KENLM_SUFFIXES = (".arpa", ".bin", ".binary")
UNK_LABEL = "⁇"  # pyctcdecode's and transformers' stand-in for the unknown token


@dataclass(frozen=True)
class BeamSettings:
    """Beam score = ln p_ctc + alpha * ln p_lm + beta per word; unknown words add unk_offset to log10 p_lm.

    At each frame only the ``top_k`` likeliest characters with ln p >= ``token_min_logp`` extend the
    beams. The threshold alone (-5) lets a near-uniform output (an untrained model, early
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


@contextmanager
def native_stderr_quiet() -> Iterator[None]:
    """Silences what C++ libraries write to the process's stderr (file descriptor 2) meanwhile; Python's errors
    still raise."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def decoder_labels(tokenizer: Wav2Vec2CTCTokenizer) -> list[str]:
    """One label per logit column, named as pyctcdecode names them: "" blank, " " word delimiter, ⁇ unknown."""
    vocab = tokenizer.get_vocab()
    labels = sorted(vocab, key=vocab.__getitem__)
    if [vocab[t] for t in labels] != list(range(len(labels))):
        raise ValueError("the tokenizer's ids are not 0..N-1; beam search needs one label per logit column")
    special = {tokenizer.pad_token: "", tokenizer.word_delimiter_token: " ", tokenizer.unk_token: UNK_LABEL}
    return [special.get(label, label) for label in labels]


def search_factory() -> Callable[..., object]:
    """``build_ctcdecoder`` of ctc-beam-decoder, or of pyctcdecode where the former cannot load.

    ctc-beam-decoder's wheels need glibc 2.35 (Ubuntu 22.04, Debian 12 and newer); on older systems
    (RHEL 8 and 9) vasr is installed with ``--no-deps`` beside pyctcdecode and ufal-kenlm, whose
    search it reproduces with the same constructor and ``decode_beams``.
    """
    try:
        from ctc_beam_decoder import build_ctcdecoder
    except ImportError:
        from pyctcdecode import build_ctcdecoder

        logging.getLogger("pyctcdecode").setLevel(logging.ERROR)  # its warnings about small vocabularies
    return build_ctcdecoder


def kenlm_file(folder: Path) -> Path | None:
    """The KenLM model (ARPA or binary) inside a ``language_model/`` folder."""
    found = [p for p in sorted(folder.iterdir()) if p.suffix in KENLM_SUFFIXES] if folder.is_dir() else []
    return found[0] if found else None


class BeamDecoder:
    """Beam-search transcripts of CTC log-probabilities, with a KenLM model (``lm``) or without one."""

    def __init__(
        self,
        tokenizer: Wav2Vec2CTCTokenizer,
        lm: str | Path | None = None,
        settings: BeamSettings = BeamSettings(),
        unigrams: list[str] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.labels = decoder_labels(tokenizer)
        self.lm = Path(lm) if lm else None
        self.settings = settings
        if self.lm is not None and unigrams is None and self.lm.suffix == ".arpa":
            unigrams = arpa_unigrams(self.lm)
        self.unigrams = unigrams
        lm_options = {"kenlm_model_path": str(self.lm), "unigrams": unigrams} if self.lm else {}
        with native_stderr_quiet():  # KenLM prints a progress bar of asterisks and a hint on every ARPA load
            weights = {"alpha": settings.alpha, "beta": settings.beta, "unk_score_offset": settings.unk_offset}
            self._search = search_factory()(self.labels, **weights, **lm_options)
        self._owned: tempfile.TemporaryDirectory | None = None

    @classmethod
    def with_ngram(cls, tokenizer: Wav2Vec2CTCTokenizer, ngram: NgramLM, settings: BeamSettings) -> BeamDecoder:
        """A decoder over vasr's own n-gram, written as ARPA for KenLM into a folder the decoder owns."""
        owned = tempfile.TemporaryDirectory(prefix="vasr-lm-")
        decoder = cls(tokenizer, ngram.to_arpa(Path(owned.name) / "lm.arpa"), settings, sorted(ngram.vocab))
        decoder._owned = owned
        return decoder

    def with_settings(self, **changes: float) -> BeamDecoder:
        """The same language model with other weights (LM weight search)."""
        decoder = BeamDecoder(self.tokenizer, self.lm, replace(self.settings, **changes), self.unigrams)
        decoder._owned = self._owned  # keeps a temporary ARPA alive as long as any decoder reads it
        return decoder

    def _top_k(self, log_probs: torch.Tensor) -> np.ndarray:
        """Each frame's characters outside its top k pushed far below ``token_min_logp``."""
        log_probs = log_probs.detach().float().cpu()
        if self.settings.top_k < log_probs.shape[-1]:
            values, index = log_probs.topk(self.settings.top_k, dim=-1)
            log_probs = torch.full_like(log_probs, -1e4).scatter_(-1, index, values)
        return log_probs.numpy()

    def words(
        self, log_probs: torch.Tensor, hotwords: list[str] | None = None, hotword_weight: float = 10.0
    ) -> list[tuple[str, int, int]]:
        """The best transcript's words with their first and last frames."""
        beams = self._search.decode_beams(
            self._top_k(log_probs),
            beam_width=self.settings.beam_width,
            token_min_logp=self.settings.token_min_logp,
            prune_history=True,
            hotwords=hotwords or None,
            hotword_weight=hotword_weight,
        )
        return [(word, start, end) for word, (start, end) in beams[0][2]] if beams else []

    def decode(
        self,
        log_probs: list[torch.Tensor],
        progress: bool = True,
        hotwords: list[str] | None = None,
        hotword_weight: float = 10.0,
    ) -> list[str]:
        """One transcript per (frames, vocab) log-probability matrix cut to its utterance's frames."""
        rows = track(log_probs, description=self.description, transient=True) if progress else log_probs
        return [" ".join(w for w, _, _ in self.words(row, hotwords, hotword_weight)) for row in rows]

    @property
    def description(self) -> str:
        if self.lm is None:
            return "beam search"
        return f"beam search + {self.lm.name} (alpha {self.settings.alpha:g}, beta {self.settings.beta:g})"

    def save(self, folder: str | Path, **record: float | str) -> Path:
        """pyctcdecode's layout in ``folder`` (``alphabet.json``, ``language_model/``), plus vasr's beam
        settings and ``record`` (how the weights were chosen) in ``vasr_decoding.json``."""
        if self.lm is None:
            raise ValueError("no language model to save")
        folder = Path(folder)
        target = folder / LM_DIR
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        (folder / ALPHABET_FILE).write_text(json.dumps({"labels": self.labels, "is_bpe": False}, ensure_ascii=False))
        attrs = {"alpha": self.settings.alpha, "beta": self.settings.beta}
        attrs |= {"unk_score_offset": self.settings.unk_offset, "score_boundary": True}
        (target / "attrs.json").write_text(json.dumps(attrs))
        (target / "unigrams.txt").write_text("\n".join(self.unigrams or []) + "\n", encoding="utf-8")
        shutil.copyfile(self.lm, target / self.lm.name)
        (folder / SETTINGS_FILE).write_text(json.dumps(asdict(self.settings) | record, indent=1))
        return target

    @classmethod
    def load(cls, folder: str | Path, tokenizer: Wav2Vec2CTCTokenizer) -> BeamDecoder | None:
        """The decoder a model folder ships in ``language_model/`` (vasr's export or a hub checkpoint's),
        or None if it has none."""
        folder = Path(folder)
        lm = kenlm_file(folder / LM_DIR)
        if lm is None:
            return None
        attrs = json.loads((folder / LM_DIR / "attrs.json").read_text())
        saved = json.loads((folder / SETTINGS_FILE).read_text()) if (folder / SETTINGS_FILE).exists() else {}
        settings = BeamSettings(**{k: saved[k] for k in BeamSettings.__dataclass_fields__ if k in saved})
        settings = replace(settings, alpha=attrs["alpha"], beta=attrs["beta"], unk_offset=attrs["unk_score_offset"])
        unigrams_file = folder / LM_DIR / "unigrams.txt"
        unigrams = unigrams_file.read_text(encoding="utf-8").split() if unigrams_file.exists() else None
        return cls(tokenizer, lm, settings, unigrams or None)


def arpa_unigrams(path: Path) -> list[str]:
    """The words of an ARPA file's unigram section (not <s>, </s>, <unk>): the decoder's known vocabulary."""
    words: list[str] = []
    with path.open(encoding="utf-8") as handle:
        inside = False
        for line in handle:
            line = line.strip()
            if line.startswith("\\"):
                if inside and line != "\\1-grams:":
                    break
                inside = line == "\\1-grams:"
                continue
            parts = line.split("\t")
            if inside and len(parts) >= 2 and parts[1] not in (BOS, EOS, UNK):
                words.append(parts[1])
    return words
