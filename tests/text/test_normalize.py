import random
import re
import unicodedata

import pytest

from vasr.text import normalize
from vasr.text.itn import inverse_normalize
from vasr.text.normalize import DEFAULT_DROP


def test_nfc_recomposes_decomposed_vietnamese():
    decomposed = unicodedata.normalize("NFD", "Tắt đèn phòng ngủ")
    assert any(unicodedata.combining(c) for c in decomposed)
    result = normalize(decomposed)
    assert result == "tắt đèn phòng ngủ"
    assert not any(unicodedata.combining(c) for c in result)


def test_punctuation_dropped_and_whitespace_collapsed():
    assert normalize("Bật  đèn, phòng khách!! nhé?  ") == "bật đèn phòng khách nhé"
    assert normalize("bật/tắt") == "bật tắt"


def test_keep_numbers_keeps_digits_and_percent():
    assert normalize("giảm xuống 73% nhé", numbers="keep") == "giảm xuống 73% nhé"


def test_keep_numbers_keeps_the_separators_inside_a_number_as_the_itn_writes_them():
    assert normalize("Giá 10.000 đồng, còn 3,5 kg.", numbers="keep") == "giá 10.000 đồng còn 3,5 kg"
    assert inverse_normalize("một triệu") == normalize("1.000.000", numbers="keep")


def test_verbalize_numbers_in_sentence():
    assert normalize("giảm xuống 73% nhé", numbers="verbalize") == "giảm xuống bảy mươi ba phần trăm nhé"
    assert normalize("lúc 3 giờ 10 phút", numbers="verbalize") == "lúc ba giờ mười phút"


def test_custom_drop_set():
    assert normalize("a-b, c", drop=",") == "a-b c"


def test_unknown_number_strategy_is_an_error():
    with pytest.raises(ValueError, match="unknown number strategy 'roman'"):
        normalize("1", numbers="roman")


def reference_normalize(text: str, drop: str) -> str:
    """normalize as written before its fast path (numbers kept): the regex and both tables on every call."""
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"(?<=\d)[.,](?=\d)", lambda match: {".": "\x00", ",": "\x01"}[match.group()], text)
    text = text.translate({ord(c): " " for c in drop})
    text = text.translate({0: ".", 1: ","})
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("drop", [DEFAULT_DROP, ",", ""])
def test_fast_path_gives_what_the_regex_and_tables_gave(drop):
    alphabet = (
        list("aĂắ") + [unicodedata.normalize("NFD", "ế")] + list("09.,/!-") + [" ", "\t", "\u00a0", "\x00", "\x01"]
    )
    rng = random.Random(0)
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    assert [normalize(text, drop=drop) for text in texts] == [reference_normalize(text, drop) for text in texts]
