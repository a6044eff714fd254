"""Families, consents and forwarded records made through the intake's own functions, without
HTTP: for the unit tests of routing, the outbox and the relay."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from consent.models import ConsentIn
from gateway.intake import families, pipeline
from gateway.intake.consents import record_consent, withdraw_consent
from gateway.intake.pipeline import Route
from gateway.intake.services import Services
from schemas import PlanUpdate
from schemas.synthetic import synthetic_fnr

NOW = dt.datetime.now(dt.UTC)
_RNG = random.Random(11)
_GIVEN: set[str] = set()


def person(age_years: int) -> tuple[str, dt.date]:
    """A synthetic fødselsnummer of someone `age_years` old today (never the same number twice
    in a test run), and the birth date."""
    today = dt.date.today()
    born = today.replace(year=today.year - age_years, day=min(today.day, 28))
    while (number := synthetic_fnr(born, _RNG)) in _GIVEN:
        pass
    _GIVEN.add(number)
    return number, born


def enrol(
    services: Services,
    members: list[dict[str, Any]],
    team: list[str],
    period: dict[str, str] | None = None,
) -> str:
    with services.engine.begin() as conn:
        family = families.create(
            conn,
            families.FamilyIn.model_validate(
                {
                    "members": members,
                    "team": team,
                    "coordinator": {"agency": "family_centre", "name": "Test Koordinator"},
                    "period": period,
                }
            ),
            municipality=services.settings.municipality,
            by="coordinator",
            now=NOW,
        )
    return family.family_id


def young_adult_family(services: Services, team: list[str]) -> tuple[str, str]:
    """A family of one 19-year-old (who consents alone) with `team`: (person, family id)."""
    number, born = person(19)
    family_id = enrol(
        services, [{"id": number, "role": "child", "birth_date": born.isoformat()}], team
    )
    return number, family_id


def consent(services: Services, subject: str, **fields: Any) -> str:
    body = {
        "subject": subject,
        "given_by": [subject],
        "purpose": "family_plan",
        "evidence": {"method": "written", "reference": "test"},
        **fields,
    }
    with services.engine.begin() as conn:
        record = record_consent(
            services, conn, ConsentIn.model_validate(body), client="coordinator", now=NOW
        )
    with services.engine.connect() as conn:
        services.consents.refresh(conn)
    return record.consent_id


def withdraw(services: Services, consent_id: str) -> int:
    with services.engine.begin() as conn:
        _, notices = withdraw_consent(
            services, conn, consent_id, reason="test", client="coordinator", now=NOW
        )
    with services.engine.connect() as conn:
        services.consents.refresh(conn)
    return notices


def plan_update(source: str, subject: str, categories: list[str]) -> PlanUpdate:
    return PlanUpdate.model_validate(
        {
            "schema": "helhet.plan-update/1",
            "update_id": uuid.uuid4().hex,
            "source": {
                "agency": source,
                "system": "test",
                "record_type": "plan",
                "record_id": uuid.uuid4().hex,
                "received_at": NOW.isoformat(),
            },
            "items": [
                {
                    "item_id": f"i{n}",
                    "subject": subject,
                    "kind": "observation",
                    "category": category,
                    "title": f"item {n}",
                    "status": "recorded",
                }
                for n, category in enumerate(categories)
            ],
        },
        context={"allow_synthetic_ids": True},
    )


def forward(
    services: Services, source: str, updates: list[PlanUpdate], now: dt.datetime = NOW
) -> list[Route]:
    """Forward as POST /v1/records does after translating: one transaction; all routes."""
    with services.engine.begin() as conn:
        by_update = pipeline.forward_by_update(
            services,
            conn,
            updates,
            agency=source,
            client=f"{source}-system",
            record_id=uuid.uuid4().hex,
            now=now,
        )
    return pipeline.merge_routes(by_update.values())
