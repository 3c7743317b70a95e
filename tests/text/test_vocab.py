import json
import unicodedata

import pytest

from vasr.text import normalize
from vasr.text.syllables import ALPHABET
from vasr.text.vocab import DELIMITER, PAD, UNK, build_vocab, make_tokenizer, run_vocab, save_vocab, uncovered

TRAIN = ["bật đèn", "tắt quạt"]
VAL = ["mở cửa sổ"]
PRETRAINED = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "a": 5, "b": 6, "\u0301": 7, "đ": 8}


def test_corpus_vocab_uses_training_text_only():
    vocab = build_vocab("corpus", TRAIN)
    assert list(vocab)[:3] == [PAD, UNK, DELIMITER] and vocab[PAD] == 0
    assert set(vocab) == {PAD, UNK, DELIMITER} | set("bậtđèntắquạ")
    assert "ở" not in vocab and "s" not in vocab  # validation-only characters do not leak in


def test_pretrained_vocab_renames_specials_and_drops_bos_eos_and_bare_marks():
    vocab = build_vocab("pretrained", TRAIN, PRETRAINED)
    assert list(vocab) == [PAD, UNK, DELIMITER, "a", "b", "đ"]


def test_union_keeps_pretrained_order_then_adds_corpus_characters():
    vocab = build_vocab("union", TRAIN, PRETRAINED)
    assert list(vocab)[:6] == [PAD, UNK, DELIMITER, "a", "b", "đ"]
    assert set("bậtđèntắquạ") <= set(vocab)
    assert len(vocab) == len(set(vocab.values()))


def test_alphabet_vocab_has_every_tone_mark_and_the_corpus_extras():
    vocab = build_vocab("alphabet", ["bật 5 đèn"])
    assert list(vocab)[:3] == [PAD, UNK, DELIMITER]
    assert set(ALPHABET) | {"5"} == set(vocab) - {PAD, UNK, DELIMITER}
    assert uncovered(vocab, ["những ngữ cảnh khó"]) == {}


def test_no_bare_combining_mark_even_from_decomposed_text():
    vocab = build_vocab("corpus", [unicodedata.normalize("NFD", "tắt")])
    assert not any(unicodedata.category(t).startswith("M") for t in vocab if len(t) == 1)


def test_pretrained_strategy_needs_a_checkpoint_vocabulary():
    with pytest.raises(ValueError, match="needs a pretrained"):
        build_vocab("pretrained", TRAIN)


def test_uncovered_reports_characters_and_counts():
    vocab = build_vocab("corpus", TRAIN)
    missing = uncovered(vocab, VAL)
    assert missing["ở"] == 1 and missing["s"] == 1 and missing["ổ"] == 1
    assert "đ" not in missing


def test_tokenizer_round_trip_and_saved_vocab(tmp_path):
    sentence = normalize("Giảm giúp mình cái bóng ốp trần xuống 73% nhé")
    vocab = build_vocab("corpus", [sentence])
    path = save_vocab(vocab, tmp_path)
    assert json.loads(path.read_text(encoding="utf-8")) == vocab
    tokenizer = make_tokenizer(path)
    assert len(tokenizer) == len(vocab)  # no <s>/</s> appended
    ids = tokenizer(sentence).input_ids
    assert tokenizer.decode(ids, group_tokens=False) == sentence


def test_run_vocab_from_joined_text_equals_it_from_each_transcript():
    """train.py hands each split over as one joined string (a million transcripts in one pass): same vocabulary,
    same coverage counts as transcript by transcript."""
    splits = {"train": ["bật đèn", "tắt quạt|x", "mở"], "val": ["bật đèn z", "q"], "test": ["ấ ấ"]}
    joined = {name: ["".join(texts)] for name, texts in splits.items()}
    assert run_vocab("corpus", joined, None) == run_vocab("corpus", splits, None)
    vocab, coverage = run_vocab("corpus", joined, None)
    assert coverage == {"val": {"z": 1}, "test": {"ấ": 2}} and DELIMITER in vocab
