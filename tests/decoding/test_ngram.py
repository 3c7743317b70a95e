import math

import pytest

from vasr.decoding.ngram import EOS, UNK, NgramLM

SENTENCES = [s.split() for s in ("bật đèn phòng khách", "tắt đèn phòng ngủ", "bật quạt phòng khách", "tắt quạt")]


def test_unigram_probabilities_follow_kneser_ney_by_hand():
    # Counts a:2, b:1, </s>:1 -> D = n1/(n1+2 n2) = 2/4; gamma = D * 3 types / 4 tokens; V = {a, b, </s>, <unk>}.
    lm = NgramLM.train([["a", "a", "b"]], order=1)
    gamma = 0.5 * 3 / 4
    assert 10 ** lm.score((), "a") == pytest.approx((2 - 0.5) / 4 + gamma / 4)
    assert 10 ** lm.score((), "b") == pytest.approx((1 - 0.5) / 4 + gamma / 4)
    assert 10 ** lm.score((), "never seen") == pytest.approx(gamma / 4)


@pytest.mark.parametrize("context", [("<s>",), ("<s>", "bật"), ("đèn", "phòng"), ("phòng",), ("quạt", "never")])
def test_every_context_is_a_distribution(context):
    lm = NgramLM.train(SENTENCES, order=3)
    total = sum(10 ** lm.score(context, w) for w in [*lm.vocab, EOS, UNK])
    assert total == pytest.approx(1.0, abs=1e-9)


def test_seen_continuations_beat_unseen_ones():
    lm = NgramLM.train(SENTENCES, order=3)
    assert lm.score(("bật", "đèn"), "phòng") > lm.score(("bật", "đèn"), "quạt")
    assert lm.perplexity([["bật", "đèn", "phòng", "ngủ"]]) < lm.perplexity([["ngủ", "phòng", "đèn", "bật"]])


def test_arpa_round_trip_keeps_every_score(tmp_path):
    lm = NgramLM.train(SENTENCES, order=3)
    path = lm.to_arpa(tmp_path / "lm.arpa")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\\data\\\nngram 1=") and "\\3-grams:" in text and text.endswith("\\end\\\n")
    back = NgramLM.from_arpa(path)
    assert back.order == 3 and back.vocab == lm.vocab
    for context in [("<s>",), ("bật", "đèn"), ("phòng",), ("x", "y")]:
        for word in [*lm.vocab, EOS, "unknown"]:
            assert back.score(context, word) == pytest.approx(lm.score(context, word), abs=1e-5)


def test_malformed_arpa_names_file_and_line(tmp_path):
    path = tmp_path / "bad.arpa"
    path.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\t<s>\nnot-a-number\tđèn\n\\end\\\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.arpa:6: not an ARPA 1-gram line"):
        NgramLM.from_arpa(path)


def test_training_needs_sentences():
    with pytest.raises(ValueError, match="no sentences"):
        NgramLM.train([], order=3)
    assert math.isfinite(NgramLM.train([["một"]], order=2).score(("<s>",), "một"))
