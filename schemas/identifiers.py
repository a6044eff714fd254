"""Person identifiers: Norwegian fødselsnummer and D-number, Danish CPR.

Validation is strict (a mistyped number could match another person's consent); synthetic test
numbers (month + 40, month + 80) pass only where the instance allows them (see `policy`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

from schemas.errors import IdentifierError

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W1_2032 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


class IdKind(StrEnum):
    """What sort of number an identifier is."""

    FNR = "fnr"
    DNR = "dnr"
    CPR = "cpr"


@dataclass(frozen=True, slots=True)
class PersonIdentifier:
    """A validated identifier in normal form (digits only), with the birth date it encodes:
    day, month and two-digit year always; the century where the number tells it."""

    value: str
    kind: IdKind
    synthetic: bool
    born: tuple[int, int, int] = (0, 0, 0)  # (day, month, two-digit year) as encoded
    century: int | None = None  # 1800, 1900 or 2000; None where the number does not say

    @property
    def country(self) -> str:
        return "DK" if self.kind is IdKind.CPR else "NO"

    @property
    def birth_date(self) -> dt.date | None:
        """The birth date the number encodes, or None where it does not tell the century."""
        if self.century is None:
            return None
        day, month, yy = self.born
        return dt.date(self.century + yy, month, day)

    def agrees_with(self, birth_date: dt.date) -> bool:
        """Whether a stated birth date is the one the number encodes (day, month, year)."""
        day, month, yy = self.born
        if (birth_date.day, birth_date.month, birth_date.year % 100) != (day, month, yy):
            return False
        return self.century is None or birth_date.year - yy == self.century


def ascii_digits(text: str) -> bool:
    """True for a non-empty string of the ASCII digits 0-9 only (`str.isdigit` also takes
    fullwidth, Arabic-Indic and other Unicode digits, which no identifier may contain)."""
    return text.isascii() and text.isdigit()


# The process-wide default is set once by the gateway from its settings; a context (tests, a
# request) may override it.
_default_allow_synthetic = False
_allow_synthetic: ContextVar[bool | None] = ContextVar("helhet_allow_synthetic", default=None)


def set_default_allow_synthetic(allowed: bool) -> None:
    """Set whether synthetic numbers are accepted in this process (from the instance config)."""
    global _default_allow_synthetic
    _default_allow_synthetic = allowed


def synthetic_allowed() -> bool:
    override = _allow_synthetic.get()
    return _default_allow_synthetic if override is None else override


@contextlib.contextmanager
def allow_synthetic_ids(allowed: bool = True) -> Iterator[None]:
    """Within the block, accept (or refuse) synthetic numbers regardless of the default."""
    token = _allow_synthetic.set(allowed)
    try:
        yield
    finally:
        _allow_synthetic.reset(token)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def _valid_day_month(day: int, month: int, years: tuple[int, ...]) -> bool:
    for year in years:
        try:
            dt.date(year, month, day)
        except ValueError:
            continue
        return True
    return False


def fnr_check_digits_ok(number: str) -> bool:
    """Both mod-11 check digits of an 11-digit Norwegian number, with the 2032 rule.

    The first check digit: the classic rule (11 - sum mod 11, 11 -> 0, 10 invalid) or, from
    2032, any digit that leaves the weighted sum over ten digits (weights 3,7,6,1,8,9,4,5,2,1)
    with a remainder 0-3 mod 11. The second check digit is unchanged: the weighted sum over all
    eleven digits (5,4,3,2,7,6,5,4,3,2,1) must be 0 mod 11.
    """
    if len(number) != 11 or not ascii_digits(number):
        return False
    if _weighted(number[:10], _W1_2032) % 11 not in (0, 1, 2, 3):
        return False
    return _weighted(number, _W2) % 11 == 0


def classic_check_digits(first_nine: str) -> str | None:
    """The two check digits under the classic rule, or None when no valid number exists."""
    k1 = 11 - _weighted(first_nine, _W1) % 11
    if k1 == 11:
        k1 = 0
    if k1 == 10:
        return None
    k2 = 11 - _weighted(first_nine + str(k1), _W2[:10]) % 11
    if k2 == 11:
        k2 = 0
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def parse_norwegian(number: str, *, allow_synthetic: bool) -> PersonIdentifier:
    """Validate a fødselsnummer or D-number (11 digits)."""
    if len(number) != 11 or not ascii_digits(number):
        raise IdentifierError("a Norwegian identity number has exactly 11 digits 0-9")
    day, month = int(number[0:2]), int(number[2:4])
    kind = IdKind.FNR
    if day > 40:
        kind = IdKind.DNR
        day -= 40
    synthetic = False
    if month > 80:
        month -= 80
        synthetic = True
    elif month > 40:
        month -= 40
        synthetic = True
    if synthetic and not allow_synthetic:
        raise IdentifierError(
            "synthetic test identifier (month + 40 or + 80) is not accepted by this instance"
        )
    yy = int(number[4:6])
    if not _valid_day_month(day, month, (1800 + yy, 1900 + yy, 2000 + yy)):
        raise IdentifierError(f"{number[:6]} is not a valid date of birth ({kind.value})")
    if not fnr_check_digits_ok(number):
        raise IdentifierError("check digits do not match (mod 11)")
    century = norwegian_century(yy, int(number[6:9]))
    if century is not None and not _valid_day_month(day, month, (century + yy,)):
        century = None  # 29 February of a year the individual number's century has not
    return PersonIdentifier(number, kind, synthetic, (day, month, yy), century)


def norwegian_century(yy: int, individual: int) -> int | None:
    """The century of a fødselsnummer / D-number birth date from its individual number
    (digits 7-9), by the Norwegian population register's ranges; None where none applies."""
    if individual <= 499:
        return 1900
    if individual >= 900 and yy >= 40:
        return 1900
    if yy <= 39:
        return 2000
    if individual <= 749 and yy >= 54:
        return 1800
    return None


def cpr_century(yy: int, seventh: int) -> int:
    """The century of a CPR birth date from its year and the first digit of the serial."""
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def parse_cpr(number: str) -> PersonIdentifier:
    """Validate a Danish CPR number (DDMMYY-SSSS or 10 digits): format and date only."""
    digits = number[:6] + number[7:] if len(number) == 11 and number[6] == "-" else number
    if len(digits) != 10 or not ascii_digits(digits):
        raise IdentifierError("a CPR number is DDMMYY-SSSS or ten digits 0-9")
    day, month, yy = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    century = cpr_century(yy, int(digits[6]))
    try:
        dt.date(century + yy, month, day)
    except ValueError:
        raise IdentifierError(f"{digits[:6]} is not a valid date of birth (CPR)") from None
    return PersonIdentifier(digits, IdKind.CPR, False, (day, month, yy), century)


def parse_person_id(value: str, *, allow_synthetic: bool | None = None) -> PersonIdentifier:
    """Validate and normalise any supported identifier; raise IdentifierError if it fails.

    Eleven digits are Norwegian; ten digits or DDMMYY-SSSS are Danish CPR.
    """
    if not isinstance(value, str):
        raise IdentifierError("an identifier is a string of digits")
    if allow_synthetic is None:
        allow_synthetic = synthetic_allowed()
    if not value.isascii():
        raise IdentifierError("an identifier consists of the ASCII digits 0-9 (and a CPR '-')")
    if len(value) == 11 and value.isdigit():
        return parse_norwegian(value, allow_synthetic=allow_synthetic)
    if len(value) in (10, 11):
        return parse_cpr(value)
    raise IdentifierError(
        "expected a Norwegian fødselsnummer/D-number (11 digits) or a Danish CPR number (10 digits)"
    )


def is_valid_person_id(value: str, *, allow_synthetic: bool | None = None) -> bool:
    try:
        parse_person_id(value, allow_synthetic=allow_synthetic)
    except IdentifierError:
        return False
    return True


def _validate_person_id(value: str, info: ValidationInfo) -> str:
    context: Any = info.context
    allow = None
    if isinstance(context, dict) and "allow_synthetic_ids" in context:
        allow = bool(context["allow_synthetic_ids"])
    try:
        return parse_person_id(value, allow_synthetic=allow).value
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None


PersonId = Annotated[str, AfterValidator(_validate_person_id)]
"""A person identifier field: validated and stored in normal form (digits only)."""
