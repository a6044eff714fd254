"""A member's overview on both databases: built from the plan's entries and the metadata of
forwarded messages (never their content), each part as consent lets the member see it."""

from __future__ import annotations

import datetime as dt

from gateway.db.tables import outbox
from gateway.intake import families
from gateway.intake.services import Services
from gateway.plan import forwarding, overview, store
from schemas import Family
from tests.helpers.intake import NOW, consent, enrol, forward, person, plan_update, withdraw
from tests.helpers.plan import add


def _items(services: Services, family_id: str, recipient: str) -> list[dict[str, object]]:
    with services.engine.connect() as conn:
        services.consents.refresh(conn)
        family, _ = families.get(conn, family_id)
        return [
            i.model_dump(mode="json", exclude_none=True)
            for i in overview.overview_items(
                services, conn, family, store.latest(conn, family_id), recipient, NOW
            )
        ]


def test_records_forwarded_appear_as_metadata_while_consent_holds(services: Services) -> None:
    parent, born = person(40)
    family_id = enrol(
        services,
        [{"id": parent, "role": "parent", "birth_date": born.isoformat()}],
        ["nav", "school", "housing"],
    )
    given = consent(
        services, parent, sources=["*"], recipients=["school"], categories=["employment"]
    )
    forward(services, "nav", [plan_update("nav", parent, ["employment", "income_support"])])
    forward(services, "nav", [plan_update("nav", parent, ["employment"])])
    # The gateway keeps no content: the overview must not need any.
    with services.engine.begin() as conn:
        conn.execute(outbox.update().values(envelope=None, subject=None))
    [records] = _items(services, family_id, "school")
    assert records["title"] == "Records from nav" and records["category"] == "plan.overview"
    assert records["values"] == {
        "source": "nav",
        "categories": ["employment"],  # income_support was never sent to the school
        "messages": 2,
        "latest": NOW.date().isoformat(),
    }
    assert records["subject"] == parent
    assert _items(services, family_id, "housing") == []  # nothing was sent to housing
    withdraw(services, given)
    assert _items(services, family_id, "school") == []  # what it may no longer see, it is not told


def test_overview_holds_goals_measures_and_the_next_meeting(services: Services) -> None:
    parent, born = person(40)
    family_id = enrol(
        services, [{"id": parent, "role": "parent", "birth_date": born.isoformat()}], ["nav"]
    )
    goal = add(services, family_id, "goal", subject=parent, title="Komme i jobb").entry
    add(
        services,
        family_id,
        "evaluation",
        goal_id=goal.entry_id,
        result="partly",
        text="Godt i gang",
    )
    add(
        services,
        family_id,
        "measure",
        subject=parent,
        title="Arbeidstrening",
        description="Hemmelige detaljer",
        responsible={"agency": "nav", "unit": "NAV Sentrum", "name": "Ola"},
    )
    day = NOW.date() + dt.timedelta(days=14)
    add(services, family_id, "meeting", date=day.isoformat(), participants=["nav"])
    add(services, family_id, "meeting", date="2020-01-01", participants=["nav"], status="held")
    items = {i["title"]: i for i in _items(services, family_id, "nav")}
    assert set(items) == {
        "Komme i jobb",
        "Arbeidstrening",
        "Next review meeting",
        "Last review meeting",
    }
    assert items["Komme i jobb"]["values"]["evaluation"]["result"] == "partly"
    measure = items["Arbeidstrening"]
    assert measure["category"] == "plan.overview" and "description" not in measure
    assert measure["responsible"] == {"agency": "nav"}
    assert items["Next review meeting"]["values"]["date"] == day.isoformat()
    assert items["Last review meeting"]["values"]["date"] == "2020-01-01"
    # Nobody consented: the preview shows nothing and says what is withheld, and why.
    with services.engine.connect() as conn:
        family: Family = families.get(conn, family_id)[0]
        shown = forwarding.preview(services, conn, family, "nav", NOW)
    assert shown["goals"] == [] and shown["measures"] == {}
    assert {w["reason"] for w in shown["withheld"]} == {"no_consent"}
