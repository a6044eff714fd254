"""Builders shared by the audit tests: synthetic entries and a fresh log on a real database."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from audit import Entry, EntryType, pseudonymise
from audit.tables import metadata
from schemas.synthetic import synthetic_fnr

KEY = b"k" * 32
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def person_id(n: int) -> str:
    """Person n's synthetic fødselsnummer (month + 40): a different birth date for each n < 420."""
    born = dt.date(1980 + n % 20, n % 12 + 1, n % 28 + 1)
    return synthetic_fnr(born, random.Random(n))


def subject(n: int) -> str:
    return pseudonymise(KEY, person_id(n))


def entry(n: int, **overrides: object) -> Entry:
    fields: dict[str, object] = {
        "event_type": EntryType.DISCLOSURE,
        "source": "nav",
        "recipient": ["school", "health", "housing"][n % 3],
        "subject_pseudonym": subject(n % 5),
        "categories": ["employment"] if n % 2 else ["employment", "income_support"],
        "purpose": "coordination",
        "basis": f"consent:c{n % 5}:1",
        "message_id": f"msg-{n}",
        "payload_sha256": f"{n:064x}",
        "outcome": "permitted",
        "client": "nav-system",
        "family_id": f"fam-{n % 5}",
    }
    fields.update(overrides)
    return Entry(**fields)  # type: ignore[arg-type]


def create_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        metadata.create_all(conn)
