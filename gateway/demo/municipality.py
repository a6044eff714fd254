"""A synthetic municipality: families (young people, young parents, families on social
assistance), their teams and consents of every kind. Every person is synthetic.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from schemas import Agency
from schemas.synthetic import synthetic_fnr

AGENCIES = [a.value for a in Agency]
CONSENT_KINDS = (
    "full",
    "restricted",
    "expired",
    "withdrawn",
    "guardian_missing",
    "self_determination",
    "none",
)


@dataclass
class DemoPerson:
    id: str
    born: dt.date
    role: str  # parent | child | other
    guardians: list[str] = field(default_factory=list)

    def age(self, today: dt.date) -> int:
        years = today.year - self.born.year
        return years - ((today.month, today.day) < (self.born.month, self.born.day))


@dataclass
class DemoFamily:
    kind: str  # young_person | young_parent | social_assistance
    members: list[DemoPerson]
    team: list[str]
    consent_kind: str
    family_id: str = ""

    @property
    def subject(self) -> DemoPerson:
        """The person the family's consent story is about (the young person or a child)."""
        children = [m for m in self.members if m.role == "child"]
        return children[0] if children else self.members[0]

    def as_request(self) -> dict[str, Any]:
        return {
            "members": [
                {
                    "id": m.id,
                    "role": m.role,
                    "birth_date": m.born.isoformat(),
                    "guardians": m.guardians,
                }
                for m in self.members
            ],
            "team": self.team,
            "coordinator": {
                "agency": "familiesenteret",
                "name": "Familiekoordinator",
                "contact": "familiesenteret@kommune.example",
            },
        }


def _born(rng: random.Random, today: dt.date, age: int) -> dt.date:
    """A birth date that makes the person exactly `age` today."""
    earliest = today.replace(year=today.year - age - 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randrange(0, 365))


class Generator:
    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.used: set[str] = set()

    def person(self, age: int, role: str, guardians: list[str] | None = None) -> DemoPerson:
        while True:
            born = _born(self.rng, self.today, age)
            number = synthetic_fnr(born, self.rng)
            if number not in self.used:
                self.used.add(number)
                return DemoPerson(number, born, role, guardians or [])

    def team(self) -> list[str]:
        size = self.rng.randint(2, 5)
        return sorted(self.rng.sample(AGENCIES, size))

    def family(self, index: int) -> DemoFamily:
        kind = ("young_person", "young_parent", "social_assistance")[index % 3]
        consent_kind = CONSENT_KINDS[index % len(CONSENT_KINDS)]
        if kind == "young_person":
            age = 17 if consent_kind == "self_determination" else self.rng.randint(15, 25)
            if consent_kind == "guardian_missing":
                age = self.rng.randint(15, 16)
            if age < 18:
                parents = [self.person(self.rng.randint(38, 55), "parent") for _ in range(2)]
                young = self.person(age, "child", [p.id for p in parents])
                members = [*parents, young]
            else:
                members = [self.person(age, "other")]
        elif kind == "young_parent":
            parent = self.person(self.rng.randint(18, 24), "parent")
            baby = self.person(self.rng.randint(0, 2), "child", [parent.id])
            members = [parent, baby]
            if consent_kind == "guardian_missing":
                other = self.person(self.rng.randint(19, 26), "parent")
                baby.guardians.append(other.id)
                members.insert(1, other)
        else:
            parents = [
                self.person(self.rng.randint(30, 50), "parent")
                for _ in range(self.rng.randint(1, 2))
            ]
            children = [
                self.person(self.rng.randint(6, 17), "child", [p.id for p in parents])
                for _ in range(self.rng.randint(1, 3))
            ]
            if consent_kind == "guardian_missing" and len(parents) == 1:
                parents.append(self.person(self.rng.randint(30, 50), "parent"))
                for child in children:
                    child.guardians = [p.id for p in parents]
            members = [*parents, *children]
        return DemoFamily(kind, members, self.team(), consent_kind)


def generate(count: int, seed: int, today: dt.date) -> list[DemoFamily]:
    generator = Generator(seed, today)
    return [generator.family(i) for i in range(count)]


def consent_requests(
    family: DemoFamily, now: dt.datetime, rules_age: int = 18
) -> list[tuple[dict[str, Any], str]]:
    """(consent body, what happens to it) for every member of the family: "keep", "withdraw"."""
    bodies: list[tuple[dict[str, Any], str]] = []
    kind = family.consent_kind
    if kind == "none":
        return bodies
    today = now.date()
    evidence = {"method": "written", "reference": f"demo/{family.kind}"}
    for member in family.members:
        adult = member.age(today) >= rules_age
        given_by = [member.id] if adult or not member.guardians else list(member.guardians)
        if kind == "guardian_missing" and member.guardians and not adult:
            given_by = member.guardians[:1]
        if kind == "self_determination" and member.role == "child":
            given_by = [member.id]  # counts for health from 16, not for the rest before 18
        body: dict[str, Any] = {
            "subject": member.id,
            "given_by": given_by,
            "sources": ["*"],
            "recipients": ["*"],
            "categories": ["*"],
            "purpose": "family_plan",
            "evidence": evidence,
        }
        if kind == "restricted":
            body["restrictions"] = [
                {
                    "recipients": ["school", "housing"],
                    "categories": ["health.mental", "health.substance"],
                }
            ]
        if kind == "expired":
            body["valid_until"] = (now + dt.timedelta(seconds=5)).isoformat()
        bodies.append((body, "withdraw" if kind == "withdrawn" else "keep"))
    return bodies
