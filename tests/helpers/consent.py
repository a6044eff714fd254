"""Synthetic people and consents for the consent tests (no real personal data)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

from consent import ConsentRecord
from schemas.synthetic import synthetic_cpr, synthetic_fnr

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_counter = itertools.count(1)


def fnr(birth: dt.date) -> str:
    """A synthetic fødselsnummer (month + 40) for this birth date, the same on every run."""
    return synthetic_fnr(birth, random.Random(f"fnr {birth}"))


def cpr(birth: dt.date) -> str:
    """A CPR number for this birth date, the same on every run."""
    return synthetic_cpr(birth, random.Random(f"cpr {birth}"))


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
