import unicodedata

import pytest

from vasr.text import normalize
from vasr.text.itn import inverse_normalize


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
