"""The consent form's reasoning: who must sign by the age rules per domain, and the preview of
decisions now and with the draft, both from the engine itself."""

from __future__ import annotations

import datetime as dt

from consent.models import ConsentIn, Reason
from consent.rules import PersonFacts
from gateway.console.consent_form import grouped, preview, signer_rules
from gateway.intake import families
from gateway.intake.services import Services
from tests.helpers import intake

NOW = dt.datetime.now(dt.UTC)


def test_a_child_needs_every_guardian_and_a_sixteen_year_old_decides_health_alone(
    services: Services,
) -> None:
    mother, father = "m", "f"
    child, born = intake.person(10)
    teen, teen_born = intake.person(16)
    child_rules = signer_rules(PersonFacts.of(child, born, [mother, father]), services, ["*"], NOW)
    assert {r.signers for r in child_rules} == {frozenset({mother, father})}
    teen_rules = {
        r.domain: r
        for r in signer_rules(
            PersonFacts.of(teen, teen_born, [mother]),
            services,
            ["health.mental", "education.support"],
            NOW,
        )
    }
    assert teen_rules["health"].decides_alone and teen_rules["health"].signers == {teen}
    assert not teen_rules["education"].decides_alone
    assert teen_rules["education"].signers == {mother} and teen_rules["education"].age == 18
    lines = grouped(list(teen_rules.values()))
    assert len(lines) == 2


def test_the_preview_shows_what_the_draft_would_change(services: Services) -> None:
    parent, parent_born = intake.person(40)
    child, born = intake.person(9)
    family_id = intake.enrol(
        services,
        [
            {"id": parent, "role": "parent", "birth_date": parent_born.isoformat()},
            {"id": child, "role": "child", "birth_date": born.isoformat(), "guardians": [parent]},
        ],
        ["school", "health"],
    )
    with services.engine.connect() as conn:
        family, _ = families.get(conn, family_id)
    facts = PersonFacts.of(child, born, [parent])
    draft = ConsentIn.model_validate(
        {
            "subject": child,
            "given_by": [parent],
            "sources": ["school"],
            "recipients": ["health"],
            "categories": ["education.attendance", "education.support"],
            "restrictions": [{"recipients": ["health"], "categories": ["education.support"]}],
            "evidence": {"method": "oral", "reference": "-"},
        }
    )
    rows = {(r.recipient, r.category): r for r in preview(services, facts, draft, family, NOW)}
    attendance = rows[("health", "education.attendance")]
    assert attendance.now.reason is Reason.NO_CONSENT and not attendance.now.permit
    assert attendance.after.permit and attendance.changes
    support = rows[("health", "education.support")]
    assert not support.after.permit and support.after.reason is Reason.RESTRICTED
    assert len(services.consents) == 0  # nothing was recorded
