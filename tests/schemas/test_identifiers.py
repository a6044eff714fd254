"""Identifier validation: public examples, the 2032 rule, synthetic numbers, CPR, properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import IdentifierError, IdKind, allow_synthetic_ids, parse_person_id
from schemas.identifiers import classic_check_digits, cpr_century, fnr_check_digits_ok

VALID_PUBLIC = ["15076500565", "02011088123", "28071364498", "70019950032", "30108299939"]
INVALID_PUBLIC = ["13057444850", "10068831950"]


@pytest.mark.parametrize("number", VALID_PUBLIC)
def test_public_valid_examples(number: str) -> None:
    assert parse_person_id(number, allow_synthetic=False).value == number


def test_d_number_is_recognised() -> None:
    assert parse_person_id("70019950032", allow_synthetic=False).kind is IdKind.DNR
    assert parse_person_id("15076500565", allow_synthetic=False).kind is IdKind.FNR


def test_2032_rule_number_fails_classic_rule_but_is_accepted() -> None:
    number = "30108299939"
    assert classic_check_digits(number[:9]) != number[9:]
    assert fnr_check_digits_ok(number)


@pytest.mark.parametrize("number", INVALID_PUBLIC)
def test_public_invalid_examples(number: str) -> None:
    with pytest.raises(IdentifierError, match="check digits"):
        parse_person_id(number, allow_synthetic=True)


def test_cpr_examples() -> None:
    assert parse_person_id("0108589995").kind is IdKind.CPR
    assert parse_person_id("010858-9995").value == "0108589995"
    with pytest.raises(IdentifierError, match="not a valid date"):
        parse_person_id("3213901234")


def test_cpr_century_rules() -> None:
    assert cpr_century(58, 9) == 1900
    assert cpr_century(10, 9) == 2000
    assert cpr_century(58, 5) == 1800
    assert cpr_century(57, 5) == 2000
    assert cpr_century(99, 0) == 1900


def _synthetic(day: int, month_offset: int) -> str:
    """The first synthetic number for that day (some individual numbers have no valid digits)."""
    for individual in range(100, 200):
        first_nine = f"{day:02d}{3 + month_offset:02d}05{individual}"
        digits = classic_check_digits(first_nine)
        if digits is not None:
            return first_nine + digits
    raise AssertionError("unreachable: most individual numbers have check digits")


def test_synthetic_numbers_only_when_allowed() -> None:
    for offset in (40, 80):
        number = _synthetic(12, offset)
        with pytest.raises(IdentifierError, match="synthetic"):
            parse_person_id(number, allow_synthetic=False)
        assert parse_person_id(number, allow_synthetic=True).synthetic
        with allow_synthetic_ids(False), pytest.raises(IdentifierError):
            parse_person_id(number)
        with allow_synthetic_ids(True):
            assert parse_person_id(number).value == number


@pytest.mark.parametrize(
    "value", ["", "1234567890a", "123", "150765005651", "1507650056 ", "32016512345", "15136500565"]
)
def test_malformed_refused(value: str) -> None:
    with pytest.raises(IdentifierError):
        parse_person_id(value)


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2039, 12, 31))


def _nine(date: dt.date, individual: int, *, d_number: bool = False) -> str:
    day = date.day + (40 if d_number else 0)
    return f"{day:02d}{date.month:02d}{date.year % 100:02d}{individual:03d}"


@given(dates, st.integers(0, 999), st.booleans())
def test_classic_check_digits_always_validate(date: dt.date, individual: int, dnr: bool) -> None:
    first_nine = _nine(date, individual, d_number=dnr)
    digits = classic_check_digits(first_nine)
    if digits is None:
        return
    parsed = parse_person_id(first_nine + digits, allow_synthetic=False)
    assert parsed.kind is (IdKind.DNR if dnr else IdKind.FNR)


@given(dates, st.integers(0, 999), st.integers(0, 10), st.integers(0, 9))
def test_any_single_digit_change_is_caught(
    date: dt.date, individual: int, position: int, delta: int
) -> None:
    first_nine = _nine(date, individual)
    digits = classic_check_digits(first_nine)
    if digits is None or delta == 0:
        return
    number = first_nine + digits
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    # mod 11 with these weights detects every single-digit substitution
    assert not fnr_check_digits_ok(changed)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_acceptance_matches_the_definition(number: str) -> None:
    """Whatever is accepted has a valid date and second check digit; 2032 first digit rule."""
    try:
        parsed = parse_person_id(number, allow_synthetic=True)
    except IdentifierError:
        return
    weights2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    assert sum(int(d) * w for d, w in zip(number, weights2, strict=True)) % 11 == 0
    weights1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
    assert sum(int(d) * w for d, w in zip(number[:10], weights1, strict=True)) % 11 <= 3
    assert parsed.value == number


@pytest.mark.parametrize(
    "digits", ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]
)
def test_only_ascii_digits_are_digits(digits: str) -> None:
    """Finding 1: fullwidth, Arabic-Indic, Devanagari and mathematical digits are refused, never
    normalised: 15076500565 written in them is not an identifier."""
    for number in ("15076500565", "0108589995", "010858-9995"):
        written = number.translate(str.maketrans("0123456789", digits))
        assert written.isdigit() or "-" in written  # what str.isdigit() let through
        with pytest.raises(IdentifierError, match="0-9"):
            parse_person_id(written, allow_synthetic=True)
    assert not fnr_check_digits_ok("15076500565".translate(str.maketrans("0123456789", digits)))


@pytest.mark.parametrize(
    ("number", "born"),
    [
        ("15076500565", dt.date(1965, 7, 15)),  # individual 005: 1900s
        ("02011088123", dt.date(2010, 1, 2)),  # 881 with year 10: 2000s
        ("30108299939", dt.date(1982, 10, 30)),  # 999 with year 82: 1900s (900-999, 40-99)
        ("70019950032", dt.date(1899, 1, 30)),  # D-number (day + 40); 500 with year 99: 1800s
        ("03441550188", dt.date(2015, 4, 3)),  # synthetic (month + 40), the probe's child
        ("0108589995", dt.date(1958, 8, 1)),  # CPR, 7th digit 9 with year 58: 1900s
        ("010810-4995", dt.date(2010, 8, 1)),  # CPR, 7th digit 4 with year 10: 2000s
    ],
)
def test_the_birth_date_is_derived_from_the_number(number: str, born: dt.date) -> None:
    """Finding 8: fødselsnummer, D-number and CPR encode the birth date, century included."""
    parsed = parse_person_id(number, allow_synthetic=True)
    assert parsed.birth_date == born
    assert parsed.agrees_with(born)
    assert not parsed.agrees_with(dt.date(2001, 1, 1))
    assert not parsed.agrees_with(born.replace(year=born.year - 100))


@given(dates, st.integers(0, 999))
def test_derived_birth_date_round_trips(date: dt.date, individual: int) -> None:
    """Whatever century the individual number gives, the day, month and year digits are the
    ones written; no century only where the register's ranges give none."""
    first_nine = _nine(date, individual)
    digits = classic_check_digits(first_nine)
    if digits is None:
        return
    parsed = parse_person_id(first_nine + digits, allow_synthetic=False)
    born = parsed.birth_date
    if born is None:
        assert 500 <= individual <= 899 and date.year % 100 >= 40
        assert parsed.agrees_with(date)
        return
    assert (born.day, born.month, born.year % 100) == (date.day, date.month, date.year % 100)
    if individual <= 499:
        assert 1900 <= born.year <= 1999
