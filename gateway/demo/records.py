"""Realistic native records for the demo's persons, made from each adapter's own examples with
the example's synthetic identifiers replaced by the demo person's (so every body is exactly the
agency format the adapter documents).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from gateway.demo.municipality import DemoFamily, DemoPerson

EXAMPLES = Path(__file__).resolve().parents[2] / "adapters"


@dataclass(frozen=True)
class Template:
    agency: str
    file: str
    content_type: str
    persons: tuple[str, ...]  # the example's identifiers, in the order they are replaced
    line: int | None = None  # for an NDJSON example: use this one line


TEMPLATES = {
    "nav_activity": Template(
        "nav",
        "nav/examples/aktivitetskort-arbeidstrening.json",
        "application/json",
        ("15448510082",),
    ),
    "nav_14a": Template(
        "nav", "nav/examples/vedtak-14a.json", "application/json", ("15448510082",)
    ),
    "school_absence": Template(
        "school", "school/examples/fint-collection.json", "application/json", ("22451250713",)
    ),
    "health_child": Template(
        "health",
        "health/examples/bundle-helsestasjon-mor-og-barn.json",
        "application/fhir+json",
        ("28491950724", "15448510082"),
    ),
    "health_mental": Template(
        "health",
        "health/examples/bundles-psykisk-helse-rus.ndjson",
        "application/fhir+json",
        ("03478810066",),
        line=0,
    ),
    "child_welfare_case": Template(
        "child_welfare",
        "child_welfare/examples/barnevern-v4.xml",
        "application/xml",
        ("22451250713",),
    ),
    "housing_benefit": Template(
        "housing", "housing/examples/bostotte.json", "application/json", ("15448510082",)
    ),
    "housing_eviction": Template(
        "housing",
        "housing/examples/bosituasjon-og-utkastelse.ndjson",
        "application/x-ndjson",
        ("15448510082",),
    ),
}


@dataclass(frozen=True)
class DemoRecord:
    agency: str
    content_type: str
    body: bytes
    template: str
    family_id: str


ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def render(name: str, persons: list[str], revision: int = 0) -> tuple[str, str, bytes]:
    """A template's body about `persons`; `revision` > 0: a later version of the same record
    (its latest date moved on by that many days), which helhet forwards as a new version
    where it would recognise the same record sent again."""
    template = TEMPLATES[name]
    text = (EXAMPLES / template.file).read_text(encoding="utf-8")
    if template.line is not None:
        text = text.splitlines()[template.line]
    for old, new in zip(template.persons, persons, strict=True):
        text = text.replace(old, new)
    if revision and (dates := ISO_DATE.findall(text)):
        latest = max(dates)
        later = dt.date.fromisoformat(latest) + dt.timedelta(days=revision)
        text = text.replace(latest, later.isoformat())
    return template.agency, template.content_type, text.encode("utf-8")


def records_for(family: DemoFamily, today: dt.date, revision: int = 0) -> list[DemoRecord]:
    """What each agency of this family's world would send about its members (`revision`:
    which version of each record, see `render`)."""
    out: list[DemoRecord] = []

    def add(name: str, *persons: DemoPerson) -> None:
        agency, content_type, body = render(name, [p.id for p in persons], revision)
        out.append(DemoRecord(agency, content_type, body, name, family.family_id))

    for member in family.members:
        age = member.age(today)
        if age >= 16:
            add("nav_activity", member)
        if age >= 18 and family.kind != "young_parent":
            add("nav_14a", member)
        if 6 <= age <= 19:
            add("school_absence", member)
        if age >= 13:
            add("health_mental", member)
        if age < 18 and member.role == "child" and family.kind == "social_assistance":
            add("child_welfare_case", member)
        if age >= 18 and member.role in ("parent", "other"):
            add("housing_benefit", member)
    if family.kind == "young_parent":
        parent = next(m for m in family.members if m.role == "parent")
        baby = next(m for m in family.members if m.role == "child")
        add("health_child", parent, baby)
    if family.kind == "social_assistance":
        add("housing_eviction", family.members[0])
    return out
