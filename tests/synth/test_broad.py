import numpy as np
import pytest

from vasr.slu.schema import SOICT_INTENTS
from vasr.synth.broad import INTENT, BroadTextGenerator
from vasr.synth.corpus import plan
from vasr.text import normalize
from vasr.text.syllables import inventory, parse


def sentences(n, seed=1):
    return [BroadTextGenerator(np.random.default_rng([seed, i])).utterance().sentence for i in range(n)]


def test_same_seed_same_text_other_seed_other_text():
    assert sentences(30) == sentences(30)
    assert sentences(30) != sentences(30, seed=2)


def test_text_is_normalised_real_syllables_with_numbers_spoken():
    for sentence in sentences(300):
        assert sentence and sentence == normalize(sentence, numbers="verbalize")
        assert all(parse(word) for word in sentence.split()), sentence
        assert not any(c.isdigit() for c in sentence)


def test_text_covers_the_inventory_and_is_broad():
    found = inventory(sentences(400))
    assert found["tones"] == {"ngang", "huyền", "sắc", "hỏi", "ngã", "nặng"}
    assert len(found["onsets"]) >= 25 and len(found["rhymes"]) >= 120
    assert len(found["syllables"]) >= 1000


def test_broad_corpus_is_in_the_soict_format_without_demo_intents(tmp_path):
    records, jobs = plan(tmp_path, 20, seed=3, text="broad")
    assert {r["intent"] for r in records} == {INTENT} and INTENT not in SOICT_INTENTS
    assert all(r["entities"] == [] and r["sentence_annotation"] == r["sentence"] for r in records)
    assert [j.speech_text for j in jobs] == [normalize(r["sentence"], numbers="verbalize") for r in records]


def test_unknown_text_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown corpus text 'poems'"):
        plan(tmp_path, 2, seed=0, text="poems")
