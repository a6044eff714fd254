"""Synthetic person identifiers for tests and the demo: valid check digits, never a real person.

Norwegian numbers get month + 40 (the convention NAV's test data uses); Danish ones are CPR
numbers with a valid date. Instances accept them only with allow_synthetic_ids.
"""

from __future__ import annotations

import datetime as dt
import random

from schemas.identifiers import classic_check_digits


def _individual_range(year: int) -> range:
    if 1900 <= year <= 1999:
        return range(0, 500)
    if 2000 <= year <= 2039:
        return range(500, 1000)
    raise ValueError("synthetic numbers are made for birth years 1900-2039")


def synthetic_fnr(birth_date: dt.date, rng: random.Random, *, d_number: bool = False) -> str:
    """A synthetic fødselsnummer (or D-number) for `birth_date` with valid check digits."""
    day = birth_date.day + (40 if d_number else 0)
    prefix = f"{day:02d}{birth_date.month + 40:02d}{birth_date.year % 100:02d}"
    candidates = list(_individual_range(birth_date.year))
    rng.shuffle(candidates)
    for individual in candidates:
        digits = classic_check_digits(f"{prefix}{individual:03d}")
        if digits is not None:
            return f"{prefix}{individual:03d}{digits}"
    raise ValueError(f"no synthetic number exists for {birth_date}")  # pragma: no cover


def synthetic_cpr(birth_date: dt.date, rng: random.Random) -> str:
    """A CPR number for `birth_date` (format and date valid; serial chosen at random)."""
    year = birth_date.year
    if 1900 <= year <= 1999:
        seventh = rng.choice([0, 1, 2, 3])
    elif 2000 <= year <= 2036:
        seventh = rng.choice([4, 9])
    else:
        raise ValueError("synthetic CPR numbers are made for birth years 1900-2036")
    serial = f"{seventh}{rng.randrange(0, 1000):03d}"
    return f"{birth_date.day:02d}{birth_date.month:02d}{year % 100:02d}{serial}"
