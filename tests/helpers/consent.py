"""Synthetic people and consents for the consent tests (no real personal data)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from consent import ConsentRecord
from schemas.identifiers import classic_check_digits

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_counter = itertools.count(1)


def fnr(birth: dt.date, n: int = 0) -> str:
    """A synthetic fødselsnummer (month + 40) for this birth date; n picks a different one."""
    stem = f"{birth.day:02d}{birth.month + 40:02d}{birth.year % 100:02d}"
    base = 500 if birth.year >= 2000 else 100
    valid = 0
    for individual in range(base, base + 400):
        digits = classic_check_digits(f"{stem}{individual:03d}")
        if digits is not None:
            if valid == n:
                return f"{stem}{individual:03d}{digits}"
            valid += 1
    raise AssertionError("no synthetic number left for this date")


def cpr(birth: dt.date, n: int = 0) -> str:
    """A CPR number for this birth date (serial 4xxx: born 2000-2036 or 1937-1999)."""
    return f"{birth.day:02d}{birth.month:02d}{birth.year % 100:02d}{4000 + n:04d}"


CHILD = fnr(dt.date(2010, 5, 17))
MOTHER = fnr(dt.date(1982, 2, 3))
FATHER = fnr(dt.date(1980, 11, 23))


def consent_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": CHILD,
        "given_by": [MOTHER, FATHER],
        "sources": ["*"],
        "recipients": ["*"],
        "categories": ["*"],
        "purpose": "family_plan",
        "valid_from": "2025-01-01T00:00:00+00:00",
        "valid_until": None,
        "evidence": {"method": "written", "reference": "case 2025/17, form signed"},
        "restrictions": [],
    }
    body.update(overrides)
    return body


def make_record(**overrides: Any) -> ConsentRecord:
    """A ConsentRecord (as the store would produce) without a database."""
    fields: dict[str, Any] = {
        "consent_id": f"c{next(_counter):06d}",
        "version": 1,
        "status": "active",
        "recorded_at": "2025-01-01T00:00:00+00:00",
        "recorded_by": "coordinator-1",
    }
    fields.update(consent_body())
    fields.update(overrides)
    return ConsentRecord.model_validate(fields)
