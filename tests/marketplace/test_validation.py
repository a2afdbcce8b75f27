"""Identifier checks and masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.privacy import mask_id_number, mask_name, mask_phone
from marketplace.validation import normalise_credit_code, normalise_id_number, normalise_mobile

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example


def test_valid_id_number_passes() -> None:
    assert normalise_id_number(VALID_ID) == VALID_ID


def test_full_width_digits_and_lower_case_x_are_normalised() -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in VALID_ID[:-1]) + "x"
    assert normalise_id_number(full_width) == VALID_ID
    assert normalise_id_number(" 110105 19491231 002x ") == VALID_ID


@pytest.mark.parametrize(
    "bad",
    ["110105194912310021", "11010519491331002X", "1101051949123100", "", "abcdefghijklmnopqr"],
)
def test_invalid_id_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_id_number(bad)


def test_credit_code_checksum() -> None:
    from marketplace.demo import credit_code

    good = credit_code("91620400MA71TEL01")
    assert normalise_credit_code(good.lower()) == good
    wrong_digit = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ValueError):
        normalise_credit_code(wrong_digit)


@pytest.mark.parametrize("raw", ["13812345678", "+86 138-1234-5678", "１３８１２３４５６７８"])
def test_mobile_numbers(raw: str) -> None:
    assert normalise_mobile(raw) == "13812345678"


@pytest.mark.parametrize("bad", ["1381234567", "23812345678", "12812345678", "phone"])
def test_bad_mobile_numbers(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_mobile(bad)


def test_masks() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "李*"
    assert mask_id_number("620421199001011234") == "620421********1234"
    assert mask_phone("13812345678") == "138****5678"


@given(st.text(min_size=2, max_size=10))
def test_masked_names_never_show_more_than_the_first_character(name: str) -> None:
    masked = mask_name(name)
    stripped = name.strip()
    if stripped:
        assert masked[0] == stripped[0]
        assert set(masked[1:]) == {"*"}


def test_card_of_someone_born_before_their_county_was_renumbered() -> None:
    """靖远县 took code 620421 in 1985; a person born there in 1960 holds a 620421 card."""
    from datetime import date

    from marketplace.demo import id_number

    number = id_number("620421000000", date(1960, 5, 3), 12)
    assert normalise_id_number(number) == number


def test_unknown_region_code_is_refused() -> None:
    from stdnum.cn import ric

    body = "99999919800101001"
    number = body + ric.calc_check_digit(body + "0")
    with pytest.raises(ValueError, match=r"region code|行政区划代码"):
        normalise_id_number(number)


def test_future_birth_date_is_refused() -> None:
    from stdnum.cn import ric

    body = "62042120990101001"
    with pytest.raises(ValueError):
        normalise_id_number(body + ric.calc_check_digit(body + "0"))
