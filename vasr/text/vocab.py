"""CTC vocabularies by strategy (corpus, pretrained, union) and the tokenizer built from them."""

from __future__ import annotations

import json
import logging
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from transformers import Wav2Vec2CTCTokenizer

from vasr.text.syllables import ALPHABET

log = logging.getLogger("vasr")
VocabStrategy = Literal["corpus", "pretrained", "union", "alphabet"]
VOCAB_STRATEGIES: tuple[str, ...] = ("corpus", "pretrained", "union", "alphabet")

PAD = "[PAD]"  # also the CTC blank: Wav2Vec2ForCTC uses pad_token_id as blank
UNK = "[UNK]"
DELIMITER = "|"
SPECIALS = (PAD, UNK, DELIMITER)
# Spellings pretrained checkpoints use for the same roles; BOS/EOS have no place in CTC targets.
_PRETRAINED_ALIASES = {"<pad>": PAD, "<unk>": UNK, "[pad]": PAD, "[unk]": UNK, " ": DELIMITER}
_PRETRAINED_DROPPED = {"<s>", "</s>", "[s]", "[/s]"}


def is_bare_mark(token: str) -> bool:
    """A lone combining accent (Unicode category M*): the symptom of text that skipped NFC."""
    return len(token) == 1 and unicodedata.category(token).startswith("M")


def characters(texts: Iterable[str]) -> Counter[str]:
    """Character counts of normalised texts, with space written as the word delimiter."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text.replace(" ", DELIMITER))
    return counts


def charset(texts: Iterable[str]) -> set[str]:
    """The keys of :func:`characters`, a C-level pass per text where it counts character by character: a corpus of
    millions of transcripts, handed over joined as one text, takes a second."""
    found: set[str] = set()
    for text in texts:
        found.update(text)
    if " " in found:
        found.remove(" ")
        found.add(DELIMITER)
    return found


def pretrained_tokens(vocab: Mapping[str, int]) -> dict[str, int]:
    """A checkpoint's tokens (in id order) -> their ids there: specials renamed to vasr's, BOS/EOS and bare marks
    dropped. The ids let the pretrained ``lm_head`` rows follow their tokens into a new vocabulary."""
    tokens: dict[str, int] = {}
    for token, index in sorted(vocab.items(), key=lambda item: item[1]):
        token = unicodedata.normalize("NFC", _PRETRAINED_ALIASES.get(token, token))
        if token not in _PRETRAINED_DROPPED and not is_bare_mark(token):
            tokens.setdefault(token, index)
    return tokens


def build_vocab(
    strategy: VocabStrategy,
    train_texts: Iterable[str] = (),
    pretrained_vocab: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Token -> id for a strategy; only training texts may contribute (no leakage from eval splits).

    ``[PAD]`` is id 0 (the blank), then ``[UNK]`` and ``|``. With a pretrained vocabulary its
    tokens keep their relative order so its ``lm_head`` rows map over by token. ``alphabet``
    (for pretraining) holds every Vietnamese letter and tone-marked vowel, plus any other
    character of the training texts.
    """
    if strategy not in VOCAB_STRATEGIES:
        raise ValueError(f"unknown vocabulary strategy {strategy!r}; choose one of {VOCAB_STRATEGIES}")
    tokens: list[str] = list(SPECIALS)
    if strategy in ("pretrained", "union"):
        if pretrained_vocab is None:
            raise ValueError(f"vocabulary strategy {strategy!r} needs a pretrained checkpoint's vocabulary")
        tokens += [t for t in pretrained_tokens(pretrained_vocab) if t not in tokens]
    if strategy == "alphabet":
        tokens += ALPHABET
    if strategy in ("corpus", "union", "alphabet"):
        seen = set(tokens)
        tokens += sorted(c for c in charset(train_texts) if c not in seen and not is_bare_mark(c))
    return {token: index for index, token in enumerate(tokens)}


def uncovered(vocab: Mapping[str, int], texts: Iterable[str]) -> Counter[str]:
    """Characters of ``texts`` the vocabulary lacks, with counts: they will decode as ``[UNK]``."""
    return Counter({c: n for c, n in characters(texts).items() if c not in vocab})


def save_vocab(vocab: Mapping[str, int], folder: str | Path) -> Path:
    """Write ``vocab.json`` (UTF-8, readable accents) into ``folder``."""
    path = Path(folder) / "vocab.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(vocab), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def make_tokenizer(vocab_file: str | Path) -> Wav2Vec2CTCTokenizer:
    """The CTC tokenizer for a ``vocab.json``, without the BOS/EOS that transformers 5 would append."""
    return Wav2Vec2CTCTokenizer(
        str(vocab_file),
        unk_token=UNK,
        pad_token=PAD,
        word_delimiter_token=DELIMITER,
        bos_token=None,
        eos_token=None,
    )


def run_vocab(
    strategy: VocabStrategy,
    texts: Mapping[str, Iterable[str]],
    pretrained_vocab: Mapping[str, int] | None,
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """A run's vocabulary from its training split's texts, and the characters of val/test it lacks with their
    counts (logged). ``texts`` holds each split's transcripts, in any chunks (only characters count: a split's
    transcripts joined into one string give the same). ``union`` without a pretrained tokenizer falls back to
    ``corpus``."""
    if strategy == "union" and pretrained_vocab is None:
        log.warning("vocab=union without a pretrained tokenizer: using the training split's characters only")
        strategy = "corpus"
    vocab = build_vocab(strategy, texts["train"], pretrained_vocab)
    coverage = {name: dict(uncovered(vocab, texts[name])) for name in ("val", "test")}
    for name, missing in coverage.items():
        if missing:
            log.warning("%s text has characters the vocabulary lacks (decoded as [UNK]): %s", name, missing)
    return vocab, coverage


def tokenizer_for(vocab: Mapping[str, int]) -> Wav2Vec2CTCTokenizer:
    """The CTC tokenizer of an in-memory vocabulary."""
    with tempfile.TemporaryDirectory() as tmp:
        return make_tokenizer(save_vocab(vocab, tmp))
