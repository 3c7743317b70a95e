"""SoICT SLU lines: BIO tags from the annotation, and every kind of bad line named or counted."""

import json

import pytest

from vasr.slu.data import SluLineError, entities_of, read_examples, tagged_words

GOOD = {
    "id": "u1",
    "sentence": "Bật đèn trần ở phòng khách lên 73%",
    "intent": "bật thiết bị",
    "sentence_annotation": "[ command : Bật ] [ device : đèn trần ] ở [ location : phòng khách ] lên 73%",
    "entities": [
        {"type": "command", "filler": "Bật"},
        {"type": "device", "filler": "đèn trần"},
        {"type": "location", "filler": "phòng khách"},
    ],
    "file": "u1.wav",
}


def test_tags_follow_the_annotation_and_give_the_entities_back():
    words, tags, entities = tagged_words(GOOD["sentence_annotation"])
    assert words == ["bật", "đèn", "trần", "ở", "phòng", "khách", "lên", "73%"]
    assert tags == ["B-command", "B-device", "I-device", "O", "B-location", "I-location", "O", "O"]
    assert (
        entities_of(words, tags)
        == tuple(entities)
        == (("command", "bật"), ("device", "đèn trần"), ("location", "phòng khách"))
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sentence_annotation": "[ command : Bật ] đèn trần ở phòng khách lên 73%"}, "disagree"),
        ({"sentence": "Tắt đèn trần ở phòng khách lên 73%"}, "not the sentence"),
        ({"intent": "pha cà phê"}, "unknown intent"),
        ({"entities": [*GOOD["entities"], {"type": "colour", "filler": "đèn"}]}, "unknown entity type"),
        ({"entities": [*GOOD["entities"][:2], {"type": "location", "filler": "sân thượng"}]}, "not in the sentence"),
    ],
)
def test_a_bad_line_is_named_with_its_line_or_counted_when_skipping(tmp_path, change, message):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        json.dumps(GOOD, ensure_ascii=False) + "\n" + json.dumps(GOOD | change, ensure_ascii=False) + "\n"
    )
    with pytest.raises(SluLineError, match=rf"m.jsonl:2: .*{message}.*data.skip_bad=true"):
        read_examples(manifest)
    found, skipped = read_examples(manifest, skip_bad=True)
    assert list(found) == ["u1"] and sum(skipped.values()) == 1
