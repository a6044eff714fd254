"""Who may consent: the age of self-determination by jurisdiction and domain, and the facts
about a person (birth date, guardians) the decision needs; all passed in, never read from env.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from consent.errors import InvalidConsent
from schemas import IdKind, parse_person_id

Jurisdiction = Literal["NO", "DK"]

TIMEZONES: Mapping[str, ZoneInfo] = MappingProxyType(
    {"NO": ZoneInfo("Europe/Oslo"), "DK": ZoneInfo("Europe/Copenhagen")}
)

DEFAULT_OVERRIDES: Mapping[tuple[str, str], int] = MappingProxyType(
    {("NO", "health"): 16, ("DK", "health"): 15}
)


@dataclass(frozen=True, slots=True)
class AgeRules:
    """Ages of self-determination: `default`, unless (jurisdiction, domain) is overridden.

    Domains are the part of a category before the dot (health, education, …).
    """

    default: int = 18
    overrides: Mapping[tuple[str, str], int] = field(default_factory=lambda: DEFAULT_OVERRIDES)

    def __post_init__(self) -> None:
        for key, age in {("*", "*"): self.default, **dict(self.overrides)}.items():
            if not 0 <= age <= 25:
                raise InvalidConsent(f"age {age} for {key} is outside 0..25", field="age_rules")
        for jurisdiction, _domain in self.overrides:
            if jurisdiction not in TIMEZONES:
                raise InvalidConsent(
                    f"unknown jurisdiction {jurisdiction!r} (NO or DK)", field="age_rules"
                )
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def age_for(self, jurisdiction: str, domain: str) -> int:
        return self.overrides.get((jurisdiction, domain), self.default)


def coming_of_age(birth_date: dt.date, age: int) -> dt.date:
    """The birthday on which a person born on `birth_date` reaches `age`.

    Someone born on 29 February reaches it on 1 March in a year that is not a leap year.
    """
    year = birth_date.year + age
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return dt.date(year, 3, 1)


def self_determination_instant(birth_date: dt.date, age: int, jurisdiction: str) -> dt.datetime:
    """Local midnight starting the birthday that reaches `age`: from then on they decide."""
    day = coming_of_age(birth_date, age)
    return dt.datetime.combine(day, dt.time(0), tzinfo=TIMEZONES[jurisdiction])


def jurisdiction_of(person: str) -> Jurisdiction:
    """DK for a CPR number, NO for a fødselsnummer or D-number."""
    return "DK" if parse_person_id(person).kind is IdKind.CPR else "NO"


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the decision needs to know about the subject (from the family registry)."""

    person: str
    birth_date: dt.date
    guardians: frozenset[str] = frozenset()
    jurisdiction: Jurisdiction = "NO"

    def __post_init__(self) -> None:
        if self.jurisdiction not in TIMEZONES:
            raise InvalidConsent(
                f"unknown jurisdiction {self.jurisdiction!r} (NO or DK)", field="jurisdiction"
            )
        if not isinstance(self.guardians, frozenset):
            object.__setattr__(self, "guardians", frozenset(self.guardians))

    @classmethod
    def of(
        cls,
        person: str,
        birth_date: dt.date,
        guardians: Iterable[str] = (),
        jurisdiction: Jurisdiction | None = None,
    ) -> PersonFacts:
        """Facts with the jurisdiction taken from the identifier unless given (CPR -> DK)."""
        return cls(
            person,
            birth_date,
            frozenset(guardians),
            jurisdiction if jurisdiction is not None else jurisdiction_of(person),
        )

    def required_consenters(self, decides_alone: bool) -> frozenset[str]:
        """Who must be among given_by for a consent to count: the person alone once they decide
        alone (at or above the age of self-determination), else every recorded guardian.

        Empty when the person is below the age and has no recorded guardian: then no consent
        can count (reason guardian_missing) until a guardian is recorded. They decide alone
        from `self_determination_instant` on (the engine memoises it per birth date and domain).
        """
        if decides_alone:
            return frozenset({self.person})
        return self.guardians
