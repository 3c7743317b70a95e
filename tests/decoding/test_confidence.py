"""Word confidences from CTC posteriors, which hypothesis words a reference has, and the reliability table."""

import math

import pytest
import torch
from transformers import Wav2Vec2CTCTokenizer

from vasr import ASSETS
from vasr.decoding.confidence import overall_confidence, reliability, word_confidences, word_correctness


@pytest.fixture(scope="module")
def tokenizer():
    return Wav2Vec2CTCTokenizer.from_pretrained(ASSETS / "vasr-tiny-vi")


def posteriors(tokenizer, frames: list[dict[str, float]]) -> torch.Tensor:
    """Log-probabilities whose frames give the named labels these probabilities (the rest spread evenly)."""
    vocab = tokenizer.get_vocab()
    rows = []
    for frame in frames:
        rest = (1 - sum(frame.values())) / (len(vocab) - len(frame))
        row = torch.full((len(vocab),), rest)
        for label, p in frame.items():
            row[tokenizer.pad_token_id if label == "" else vocab[label]] = p
        rows.append(row.log())
    return torch.stack(rows)


def test_a_word_is_as_sure_as_the_geometric_mean_of_its_frames_best_allowed_label(tokenizer):
    log_probs = posteriors(tokenizer, [{"b": 0.9}, {"": 0.8}, {"ậ": 0.5, "a": 0.4}, {"t": 0.9}, {"": 0.99}])
    (bat, frames), (other, _) = word_confidences(log_probs, [("bật", 0, 4), ("xa", 4, 5)], tokenizer)
    assert frames == 4 and bat == pytest.approx(math.exp((math.log(0.9 * 0.8 * 0.5 * 0.9)) / 4), rel=1e-5)
    assert other == pytest.approx(0.99, rel=1e-4)  # blank is what "xa" allows there
    lm_word = word_confidences(log_probs, [("bốt", 0, 4)], tokenizer)[0][0]  # ố where the model heard ậ
    assert lm_word < bat
    both = overall_confidence([(bat, 4), (other, 1)])
    assert both == pytest.approx(math.exp((4 * math.log(bat) + math.log(other)) / 5))
    assert overall_confidence([]) is None


def test_correct_words_are_those_the_alignment_keeps():
    assert word_correctness("bật đèn phòng khách", "bật đèn khách sạn") == [True, True, False, False]
    assert word_correctness("bật đèn", "") == [] and word_correctness("", "bật") == [False]


def test_the_reliability_table_bins_confidence_against_accuracy():
    pairs = [(0.95, True)] * 9 + [(0.95, False)] + [(0.25, False)] * 3 + [(0.25, True), (1.0, True)]
    table = reliability(pairs, bins=4)
    assert [row["bin"] for row in table] == ["0.25-0.50", "0.75-1.00"]  # empty bins left out
    by_bin = {row["bin"]: row for row in table}
    assert by_bin["0.75-1.00"]["words"] == 11 and by_bin["0.75-1.00"]["accuracy"] == pytest.approx(10 / 11, abs=1e-4)
    assert by_bin["0.25-0.50"]["words"] == 4 and by_bin["0.25-0.50"]["accuracy"] == 0.25
