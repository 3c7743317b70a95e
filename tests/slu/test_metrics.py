"""SLU scores against cases computed by hand."""

import pytest

from vasr.slu.metrics import Frame, char_distance, slu_scores, word_distance

GOLD = Frame("bật thiết bị", (("device", "đèn trần"), ("location", "phòng khách")))


def test_a_perfect_frame_scores_one_everywhere():
    scores = slu_scores([GOLD], [GOLD])
    assert scores["intent_accuracy"] == 1.0 and scores["entity"]["f1"] == scores["slu_f1"] == 1.0


def test_a_filler_one_character_off_loses_exact_credit_but_little_slu_credit():
    heard = Frame("bật thiết bị", (("device", "đèn tràn"), ("location", "phòng khách")))
    scores = slu_scores([GOLD], [heard])
    assert scores["entity"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    # word: the device filler is 1 word of 2 off (d 0.5); char: 1 character of 8 (d 0.125). Summed:
    # tp 4, fp = fn = 0.625, so precision = recall = 4 / 4.625.
    assert scores["slu_f1"] == pytest.approx(4 / 4.625)
    assert scores["word_f1"] == pytest.approx(2 / 2.5) and scores["char_f1"] == pytest.approx(2 / 2.125)


def test_a_filler_one_word_off():
    heard = Frame("bật thiết bị", (("device", "đèn"), ("location", "phòng khách")))
    scores = slu_scores([GOLD], [heard])
    # word distance 1/2 (one of 2 words deleted), char distance 5/8 ("đèn trần" -> "đèn": " trần" deleted).
    assert scores["word_f1"] == pytest.approx(2 / 2.5) and scores["char_f1"] == pytest.approx(2 / 2.625)
    assert scores["slu_f1"] == pytest.approx(4 / 5.125)


def test_a_wrong_type_and_a_missing_entity_and_a_wrong_intent():
    wrong_type = Frame("tắt thiết bị", (("device", "đèn trần"), ("scene", "phòng khách")))
    scores = slu_scores([GOLD], [wrong_type])
    assert scores["intent_accuracy"] == 0.0
    # the scene is unpaired (fp 1), the location unpredicted (fn 1): p = r = 1/2 for every F1
    assert scores["entity"]["f1"] == scores["slu_f1"] == pytest.approx(0.5)
    missing = slu_scores([GOLD], [Frame("bật thiết bị", (("device", "đèn trần"),))])
    assert missing["entity"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3})
    assert missing["per_type"]["location"] == {"f1": 0.0, "slu_f1": 0.0}
    assert missing["per_intent"] == {"bật thiết bị": {"accuracy": 1.0, "utterances": 1}}


def test_each_prediction_pairs_with_the_nearest_gold_filler_of_its_type():
    gold = Frame("x", (("device", "quạt trần"), ("device", "đèn ngủ")))
    heard = Frame("x", (("device", "đèn ngủ"), ("device", "quạt trần")))  # order does not matter
    assert slu_scores([gold], [heard])["slu_f1"] == 1.0


def test_character_distance_is_normalised_by_the_longer_filler_as_slurp_does():
    # SLURP's CharDistance: Levenshtein edits over max(len(gold), len(predicted)), so a prediction longer than the
    # gold costs at most 1 (a CER, divided by the gold's 1 character, would count 2).
    assert char_distance("2", "20%") == pytest.approx(2 / 3)
    assert char_distance("20%", "2") == pytest.approx(2 / 3)
    assert char_distance("", "") == 0.0 and char_distance("", "5") == 1.0 and char_distance("5", "") == 1.0
    # The word distance stays the WER, unbounded: 2 inserted words over 1 gold word.
    assert word_distance("đèn", "đèn trần nhà") == 2.0
    assert word_distance("", "") == 0.0 and word_distance(" ", "đèn") == 1.0 and word_distance("đèn trần", "") == 1.0


def test_a_prediction_longer_than_the_gold():
    gold = Frame("tăng độ sáng của thiết bị", (("changing value", "2"),))
    heard = Frame("tăng độ sáng của thiết bị", (("changing value", "20%"),))
    scores = slu_scores([gold], [heard])
    # word: WER 1 (one substitution), tp 1, fp = fn = 1; char: 2 edits over 3 characters, fp = fn = 2/3.
    assert scores["word_f1"] == pytest.approx(1 / 2) and scores["char_f1"] == pytest.approx(1 / (1 + 2 / 3))
    # summed: tp 2, fp = fn = 5/3
    assert scores["slu_f1"] == pytest.approx(2 / (2 + 5 / 3)) == pytest.approx(6 / 11)
    longer = slu_scores([Frame("x", (("device", "đèn"),))], [Frame("x", (("device", "đèn trần nhà"),))])
    # word: 2 insertions over 1 word (d 2); char: 9 insertions over the 12 characters of "đèn trần nhà" (d 0.75)
    assert longer["word_f1"] == pytest.approx(1 / 3) and longer["char_f1"] == pytest.approx(1 / 1.75)
    assert longer["slu_f1"] == pytest.approx(2 / 4.75)


def test_predictions_pair_greedily_in_order_with_the_first_nearest_gold_on_a_tie():
    gold = Frame("x", (("device", "ab"), ("device", "ac")))
    heard = Frame("x", (("device", "aa"), ("device", "ac")))
    scores = slu_scores([gold], [heard])
    # "aa" is as far from "ab" as from "ac" (1 word, 1 of 2 characters) and takes "ab", the first; "ac" then pairs
    # with "ac" at 0. (Had "aa" taken "ac", "ac" would cost 1 more word and 1/2 more character.)
    assert scores["word_f1"] == pytest.approx(2 / 3) and scores["char_f1"] == pytest.approx(2 / 2.5)
    assert scores["slu_f1"] == pytest.approx(4 / 5.5)
