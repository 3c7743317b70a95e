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


def test_the_arpa_file_holds_every_n_gram_with_its_score(tmp_path):
    """KenLM reads it alike (tests/decoding/test_beam.py); here, the layout and the numbers written."""
    lm = NgramLM.train(SENTENCES, order=3)
    text = lm.to_arpa(tmp_path / "lm.arpa").read_text(encoding="utf-8")
    counts = "".join(f"ngram {n}={sum(len(gram) == n for gram in lm.logprob)}\n" for n in (1, 2, 3))
    assert text.startswith(f"\\data\\\n{counts}\n\\1-grams:\n") and text.endswith("\\end\\\n")
    assert f"{lm.logprob[('bật', 'đèn')]:.6f}\tbật đèn\t{lm.backoff[('bật', 'đèn')]:.6f}\n" in text
    assert f"{lm.logprob[('bật', 'đèn', 'phòng')]:.6f}\tbật đèn phòng\n" in text  # the top order has no backoff


def test_training_needs_sentences():
    with pytest.raises(ValueError, match="no sentences"):
        NgramLM.train([], order=3)
    assert math.isfinite(NgramLM.train([["một"]], order=2).score(("<s>",), "một"))
