"""SLU scores against cases computed by hand."""

import pytest

from vasr.slu.metrics import Frame, slu_scores

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
