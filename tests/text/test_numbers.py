import pytest

from vasr.text.numbers import verbalize_number, verbalize_numbers


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),  # mốt only after "mươi"
        (15, "mười lăm"),  # lăm after mười
        (14, "mười bốn"),  # tư only after "mươi"
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (73, "bảy mươi ba"),
        (100, "một trăm"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (115, "một trăm mười lăm"),
        (1000, "một nghìn"),
        (1005, "một nghìn không trăm linh năm"),
        (1024, "một nghìn không trăm hai mươi tư"),
        (2024, "hai nghìn không trăm hai mươi tư"),
        (10500, "mười nghìn năm trăm"),
        (1000001, "một triệu không trăm linh một"),
    ],
)
def test_vietnamese_number_rules(n, spoken):
    assert verbalize_number(n) == spoken


def test_le_variant():
    assert verbalize_number(105, linh="lẻ") == "một trăm lẻ năm"


def test_percent_and_decimal():
    assert verbalize_numbers("73%").split() == ["bảy", "mươi", "ba", "phần", "trăm"]
    assert verbalize_numbers("2,5").split() == ["hai", "phẩy", "năm"]
    assert verbalize_numbers("0,05").split() == ["không", "phẩy", "không", "năm"]
