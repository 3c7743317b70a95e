import pytest

from vasr.text.numbers import verbalize_number, verbalize_numbers, written_number


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


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("1.000", "một nghìn"),  # a dot before three digits groups thousands
        ("1000", "một nghìn"),
        ("1.500", "một nghìn năm trăm"),
        ("10.000.000", "mười triệu"),
        ("1.000.000", "một triệu"),
        ("2.000.500.070", "hai tỷ năm trăm nghìn không trăm bảy mươi"),
        ("3,5", "ba phẩy năm"),  # the comma is the decimal separator
        ("1.234,5", "một nghìn hai trăm ba mươi tư phẩy năm"),
        ("1,000", "một phẩy không không không"),  # the English thousands comma reads as a Vietnamese decimal
        ("1.5", "một phẩy năm"),  # a dot not before three-digit groups: an English decimal point
        ("3.14", "ba phẩy mười bốn"),
        ("1.0000", "một phẩy không không không không"),
        ("giá 5.000 đồng.", "giá năm nghìn đồng."),  # a full stop after a number is not a separator
    ],
)
def test_dots_group_thousands_and_commas_mark_decimals(written, spoken):
    assert " ".join(verbalize_numbers(written).split()) == spoken


def test_written_numbers_group_from_five_digits():
    assert [written_number(n) for n in (7, 1000, 2024, 10_000, 1_000_000, 2_000_500_070)] == [
        "7", "1000", "2024", "10.000", "1.000.000", "2.000.500.070"
    ]  # fmt: skip


def test_a_number_beyond_the_largest_scale_is_refused():
    with pytest.raises(ValueError, match="too large to verbalise: 1000000000000"):
        verbalize_number(10**12)
