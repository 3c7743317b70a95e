import unicodedata

from vasr.text.syllables import ALPHABET, parse, split_tone


def test_parse_splits_onset_rhyme_and_tone():
    word = parse("nghiêng")
    assert (word.onset, word.rhyme, word.tone) == ("ngh", "iêng", "ngang")
    word = parse("đường")
    assert (word.onset, word.rhyme, word.tone) == ("đ", "ương", "huyền")
    word = parse("quốc")
    assert (word.onset, word.rhyme, word.tone) == ("qu", "ôc", "sắc")
    assert parse("ảnh").onset == "" and parse("ảnh").tone == "hỏi"


def test_parse_rejects_what_is_not_a_vietnamese_syllable():
    for word in ("site", "kelly", "tp", "gs", "remix", "usd", "2024"):
        assert parse(word) is None, word


def test_split_tone_reads_decomposed_input():
    assert split_tone(unicodedata.normalize("NFD", "việt")) == ("viêt", "nặng")
    assert split_tone("ngã") == ("nga", "ngã")


def test_alphabet_has_every_tone_of_every_vowel_in_nfc():
    vowels = "aăâeêioôơuưy"
    tones = 6  # ngang (no mark), huyền, sắc, hỏi, ngã, nặng
    assert len(ALPHABET) == len(vowels) * tones + len("bcdđghklmnpqrstvx") + len("fjwz")
    assert all(unicodedata.is_normalized("NFC", c) and len(c) == 1 for c in ALPHABET)
    assert {"ặ", "ữ", "ỹ", "đ", "ơ"} <= set(ALPHABET)
