"""Minimisation: one decision per item and recipient; a recipient gets only what it may see,
grouped by the basis that permits it; everything else is refused with its reason."""

from __future__ import annotations

import datetime as dt

from gateway.intake import routing
from gateway.intake.minimise import NO_RECIPIENT_KEY, Minimised, minimise
from gateway.intake.services import Services
from tests.helpers.intake import NOW, consent, plan_update, young_adult_family


def _minimised(
    services: Services, source: str, update_categories: list[str], person: str
) -> Minimised:
    update = plan_update(source, person, update_categories)
    with services.engine.connect() as conn:
        targets = list(
            routing.targets(services.families.refresh(conn), [update], source, dt.date.today())
        )
    return minimise(services, targets, source=source, now=NOW)


def test_each_recipient_gets_only_its_permitted_items(services: Services) -> None:
    person, family = young_adult_family(services, ["nav", "school", "housing"])
    consent_id = consent(
        services,
        person,
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    result = _minimised(services, "nav", ["employment", "income_support"], person)
    assert [(m.recipient, [i.category.value for i in m.items]) for m in result.messages] == [
        ("school", ["employment"])
    ]
    assert result.messages[0].decision.consent_id == consent_id
    refused = sorted((r.recipient, r.reason, tuple(r.categories)) for r in result.refusals)
    assert refused == [
        ("housing", "out_of_scope", ("employment", "income_support")),
        ("school", "out_of_scope", ("income_support",)),
    ]
    school = result.routes[(family, "school")]
    assert (school.disclosed, school.withheld) == ({"employment"}, {"income_support"})


def test_a_recipient_without_a_public_key_gets_nothing(services: Services) -> None:
    person, family = young_adult_family(services, ["nav", "school"])
    consent(services, person, sources=["nav"], recipients=["school"], categories=["*"])
    services.recipient_keys.path("school").unlink()
    result = _minimised(services, "nav", ["employment"], person)
    assert result.messages == []
    assert [(r.recipient, r.reason) for r in result.refusals] == [("school", NO_RECIPIENT_KEY)]
    assert result.routes[(family, "school")].withheld == {"employment"}
