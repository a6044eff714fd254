"""The family plan end to end over a real HTTP server, the real broker and both databases: the
coordinator records goals, measures and a meeting; each change and each member's overview goes
out under consent, sealed, on the recipients' topics; the log names every one of them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.db.tables import outbox
from tests.helpers.gateway import Gateway

COORDINATOR = {"agency": "familiesenteret", "name": "Kari Koordinator", "contact": "tlf 400 00 000"}


def _family(gw: Gateway, team: list[str]) -> tuple[str, str, str]:
    """A parent and a 12-year-old child (the parent is the guardian): (parent, child, family)."""
    parent, parent_born = gw.person(40)
    child, child_born = gw.person(12)
    with gw.client("coordinator") as c:
        created = c.post(
            "/v1/families",
            json={
                "members": [
                    {"id": parent, "role": "parent", "birth_date": parent_born.isoformat()},
                    {
                        "id": child,
                        "role": "child",
                        "birth_date": child_born.isoformat(),
                        "guardians": [parent],
                    },
                ],
                "team": team,
                "coordinator": COORDINATOR,
            },
        )
    assert created.status_code == 201, created.text
    return parent, child, created.json()["family_id"]


def _updates(gw: Gateway, agency: str) -> list[dict[str, Any]]:
    messages = gw.receive(agency)
    assert all(m.ok for m in messages), [m.error for m in messages]
    return [m.message.payload for m in messages if m.message.kind == "plan_update"]


def _overview_items(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of the latest overview (it may come in several messages, one per person)."""
    overviews = [u for u in updates if u["source"]["record_type"] == "overview"]
    if not overviews:
        return []
    last = overviews[-1]["update_id"]
    return [i for u in overviews if u["update_id"] == last for i in u["items"]]


def _routes(answer: dict[str, Any], key: str = "routes") -> dict[str, dict[str, Any]]:
    return {r["recipient"]: r for r in answer[key]}


def test_plan_changes_and_overviews_follow_consent(gw: Gateway) -> None:
    parent, child, family = _family(gw, ["nav", "school", "health"])
    # The parent: goals and the overview to the whole team, measure details to NAV only.
    team_consent = gw.consent(
        subject=parent,
        given_by=[parent],
        sources=["coordinator"],
        recipients=["*"],
        categories=["plan.goal", "plan.overview"],
    )
    gw.consent(
        subject=parent,
        given_by=[parent],
        sources=["coordinator"],
        recipients=["nav"],
        categories=["plan.measure"],
    )
    # The child (consent by the guardian): only the school, goals, overview and measures.
    gw.consent(
        subject=child,
        given_by=[parent],
        sources=["coordinator"],
        recipients=["school"],
        categories=["plan.goal", "plan.overview", "plan.measure"],
    )
    due = (dt.date.today() + dt.timedelta(days=180)).isoformat()
    meeting_day = dt.date.today() + dt.timedelta(days=30)
    with gw.client("coordinator") as c:
        goal = c.post(
            f"/v1/plans/{family}/goals",
            json={"subject": parent, "title": "Komme i jobb", "due": due},
        )
        assert goal.status_code == 201, goal.text
        assert goal.headers["etag"] == '"1"'
        routes = _routes(goal.json())
        assert {r: v["disclosed"] for r, v in routes.items()} == {
            "health": ["plan.goal"],
            "nav": ["plan.goal"],
            "school": ["plan.goal"],
        }
        work = c.post(
            f"/v1/plans/{family}/measures",
            json={
                "subject": parent,
                "title": "Arbeidstrening",
                "description": "Tre dager i uka på lageret, oppfølging hver fredag",
                "responsible": {"agency": "nav", "unit": "NAV Grünerløkka", "name": "Ola Veileder"},
                "period": {"start": dt.date.today().isoformat()},
                "status": "in_progress",
            },
        )
        assert work.status_code == 201, work.text
        # A measure's details go to the responsible agency only.
        assert _routes(work.json()) == {
            "nav": {
                "family_id": family,
                "recipient": "nav",
                "disclosed": ["plan.measure"],
                "withheld": [],
            }
        }
        homework = c.post(
            f"/v1/plans/{family}/measures",
            json={
                "subject": child,
                "title": "Leksehjelp",
                "responsible": {"agency": "school"},
                "due": due,
            },
        )
        assert _routes(homework.json())["school"]["disclosed"] == ["plan.measure"]
        talks = c.post(
            f"/v1/plans/{family}/measures",
            json={"subject": child, "title": "Samtaler", "responsible": {"agency": "health"}},
        )
        assert _routes(talks.json())["health"]["withheld"] == ["plan.measure"]
        meeting = c.post(
            f"/v1/plans/{family}/meetings",
            json={
                "date": meeting_day.isoformat(),
                "participants": ["nav", "school"],
                "evaluated": [goal.json()["entry_id"]],
            },
        )
        assert meeting.status_code == 201, meeting.text
        # Nobody consented to review meetings (plan.coordination): withheld from everyone.
        assert all(
            r["disclosed"] == [] and r["withheld"] == ["plan.coordination"]
            for r in meeting.json()["routes"]
        )
        # The overview after the change went to each member, as its consents allow.
        overviews = _routes(meeting.json(), "overviews")
        assert overviews["nav"]["disclosed"] == ["plan.goal", "plan.overview"]
        assert overviews["school"]["disclosed"] == ["plan.goal", "plan.overview"]
        assert overviews["health"]["disclosed"] == ["plan.goal", "plan.overview"]
        assert overviews["health"]["withheld"] == ["plan.overview"]  # the child's

    assert gw.relay().run_once().delivered > 0
    nav, school, health = (_updates(gw, a) for a in ("nav", "school", "health"))

    details = [i for u in nav for i in u["items"] if i["category"] == "plan.measure"]
    assert [(i["title"], i["description"], i["responsible"]["unit"]) for i in details] == [
        ("Arbeidstrening", "Tre dager i uka på lageret, oppfølging hver fredag", "NAV Grünerløkka")
    ]
    assert all(u["source"]["agency"] == "coordinator" for u in nav + school + health)
    assert not [
        i
        for u in school + health
        for i in u["items"]
        if i["category"] == "plan.measure" and i["subject"] == parent
    ]

    seen = {
        agency: {(i["subject"], i["category"], i["title"]) for i in _overview_items(updates)}
        for agency, updates in (("nav", nav), ("school", school), ("health", health))
    }
    parent_view = {
        (parent, "plan.goal", "Komme i jobb"),
        (parent, "plan.overview", "Arbeidstrening"),
        (parent, "plan.overview", "Next review meeting"),
    }
    assert seen["nav"] == parent_view
    assert seen["health"] == parent_view
    assert seen["school"] == parent_view | {
        (child, "plan.overview", "Leksehjelp"),
        (child, "plan.overview", "Samtaler"),
        (child, "plan.overview", "Next review meeting"),
    }
    # The overview has no measure details: no description, no unit, no contact person.
    for item in _overview_items(school):
        if item["kind"] == "measure":
            assert "description" not in item and set(item["responsible"]) == {"agency"}

    # A withdrawal stops the next overview to the members that received under it.
    gw.withdraw(team_consent)
    with gw.client("coordinator") as c:
        sent = c.post(f"/v1/plans/{family}/overviews", json={})
    assert sent.status_code == 202, sent.text
    after = _routes(sent.json())
    assert after["health"]["disclosed"] == [] and after["nav"]["disclosed"] == []
    assert after["nav"]["withheld"] == ["plan.goal", "plan.overview"]
    assert after["school"]["disclosed"] == ["plan.overview"]  # the child's consent
    gw.relay().run_once()
    assert len(
        [u for u in _updates(gw, "health") if u["source"]["record_type"] == "overview"]
    ) == len([u for u in health if u["source"]["record_type"] == "overview"])
    school_now = {(i["subject"], i["title"]) for i in _overview_items(_updates(gw, "school"))}
    assert school_now and all(subject == child for subject, _ in school_now)

    # The log names every plan update and overview disclosed, and every one was delivered.
    entries = gw.log_entries()
    disclosed = [
        e for e in entries if e.event_type.value == "disclosure" and e.source == "coordinator"
    ]
    assert {e.details["record_type"] for e in disclosed} == {
        "plan.goal",
        "plan.measure",
        "overview",
    }
    assert len(disclosed) == gw.count(outbox, outbox.c.source == "coordinator")
    delivered = {e.message_id for e in entries if e.event_type.value == "delivery"}
    assert {e.message_id for e in disclosed} <= delivered
    refused = [e for e in entries if e.event_type.value == "refusal" and e.source == "coordinator"]
    assert {(e.recipient, e.details["record_type"]) for e in refused} >= {
        ("health", "overview"),
        ("nav", "overview"),
        ("nav", "plan.meeting"),
    }
    assert all(parent not in json.dumps(e.model_dump(mode="json")) for e in entries)


def test_changes_are_versions_never_overwrites(gw: Gateway) -> None:
    parent, _, family = _family(gw, ["nav"])
    with gw.client("coordinator") as c:
        goal = c.post(f"/v1/plans/{family}/goals", json={"subject": parent, "title": "Bolig"})
        entry = f"/v1/plans/{family}/entries/{goal.json()['entry_id']}"
        missing = c.patch(entry, json={"status": "in_progress"})
        assert missing.status_code == 428
        assert missing.json()["errors"][0]["pointer"] == "header:If-Match"
        changed = c.patch(entry, json={"status": "in_progress"}, headers={"If-Match": '"1"'})
        assert changed.status_code == 200, changed.text
        assert changed.headers["etag"] == '"2"' and changed.json()["status"] == "in_progress"
        stale = c.patch(entry, json={"status": "completed"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        bad = c.patch(entry, json={"status": "finished"}, headers={"If-Match": '"2"'})
        assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/status"
        history = c.get(f"{entry}/history").json()["versions"]
        assert [(v["version"], v["status"], v["recorded_by"]) for v in history] == [
            (1, "planned", "coordinator"),
            (2, "in_progress", "coordinator"),
        ]
        plan = c.get(f"/v1/plans/{family}").json()
        assert plan["version"] == 2 and [g["status"] for g in plan["goals"]] == ["in_progress"]


def test_entries_are_checked_against_the_family(gw: Gateway) -> None:
    parent, _, family = _family(gw, ["nav", "school"])
    stranger, _ = gw.person(30)
    with gw.client("coordinator") as c:
        cases = [
            ("goals", {"subject": stranger, "title": "x"}, "/subject"),
            (
                "measures",
                {"subject": parent, "title": "x", "responsible": {"agency": "housing"}},
                "/responsible/agency",
            ),
            ("meetings", {"date": "2030-01-01", "participants": ["health"]}, "/participants/0"),
            ("evaluations", {"goal_id": "nope", "result": "reached", "text": "x"}, "/goal_id"),
            ("goals", {"subject": parent, "title": "x", "extra": 1}, "/extra"),
        ]
        for path, body, pointer in cases:
            answer = c.post(f"/v1/plans/{family}/{path}", json=body)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["errors"][0]["pointer"] == pointer
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert (
            c.post("/v1/plans/nope/goals", json={"subject": parent, "title": "x"}).status_code
            == 404
        )
        assert c.get(f"/v1/plans/{family}").json()["version"] == 0  # nothing stored
    with gw.client("nav") as c:
        assert (
            c.post(f"/v1/plans/{family}/goals", json={"subject": parent, "title": "x"}).status_code
            == 403
        )
    assert gw.count(outbox) == 0


def test_agency_asks_for_its_own_overview(gw: Gateway) -> None:
    parent, _, family = _family(gw, ["nav", "school"])
    given = gw.consent(
        subject=parent,
        given_by=[parent],
        sources=["coordinator"],
        recipients=["nav"],
        categories=["plan.goal"],
    )
    with gw.client("coordinator") as c:
        c.post(f"/v1/plans/{family}/goals", json={"subject": parent, "title": "Egen bolig"})
    with gw.client("nav") as c:
        own = c.post(f"/v1/plans/{family}/overviews", json={})
        assert own.status_code == 202, own.text
        assert [(r["recipient"], r["disclosed"]) for r in own.json()["routes"]] == [
            ("nav", ["plan.goal"])
        ]
        other = c.post(f"/v1/plans/{family}/overviews", json={"recipients": ["school"]})
        assert other.status_code == 403
    with gw.client("housing") as c:
        assert c.post(f"/v1/plans/{family}/overviews", json={}).status_code == 404
    # Withdrawn while the overviews wait in the outbox: the relay stops them, on record.
    gw.withdraw(given)
    stats = gw.relay().run_once()
    assert stats.delivered == 0 and stats.withheld == 3  # the goal, two overviews
    stopped = [e for e in gw.log_entries() if e.event_type.value == "withheld"]
    assert [(e.source, e.recipient, e.reason) for e in stopped] == [
        ("coordinator", "nav", "withdrawn")
    ] * 3
    assert [m for m in gw.receive("nav", timeout_s=2) if m.message.kind == "plan_update"] == []


def test_family_copy_lists_goals_and_next_meeting(gw: Gateway) -> None:
    parent, child, family = _family(gw, ["nav", "school"])
    meeting_day = dt.date(dt.date.today().year + 1, 3, 4)
    with gw.client("coordinator") as c:
        c.post(
            f"/v1/plans/{family}/goals",
            json={"subject": parent, "title": "Komme i jobb innen sommeren"},
        )
        c.post(f"/v1/plans/{family}/goals", json={"subject": child, "title": "Trives på skolen"})
        c.post(
            f"/v1/plans/{family}/measures",
            json={
                "subject": child,
                "title": "Leksehjelp <tirsdag>",
                "responsible": {"agency": "school", "unit": "Nordby skole"},
                "due": f"{meeting_day.year}-06-20",
            },
        )
        c.post(
            f"/v1/plans/{family}/meetings",
            json={"date": meeting_day.isoformat(), "participants": ["nav", "school"]},
        )
        copy = c.post(f"/v1/plans/{family}/family-copy", json={})
        danish = c.post(f"/v1/plans/{family}/family-copy", json={"language": "da"})
    assert copy.status_code == 200, copy.text
    page = copy.text
    assert copy.headers["content-type"].startswith("text/html")
    assert copy.headers["content-language"] == "nb"
    assert (
        "Våre mål" in page and "Komme i jobb innen sommeren" in page and "Trives på skolen" in page
    )
    assert page.index("Våre mål") < page.index("Hvem gjør hva") < page.index("Neste møte")
    assert f"4. mars {meeting_day.year}" in page and "Med: NAV, Skolen" in page
    assert "Leksehjelp &lt;tirsdag&gt;" in page and f"innen 20. juni {meeting_day.year}" in page
    assert "Kari Koordinator, tlf 400 00 000" in page
    assert "Vores mål" in danish.text and f"4. marts {meeting_day.year}" in danish.text
    given = [
        e
        for e in gw.log_entries()
        if e.event_type.value == "disclosure" and e.recipient == "family"
    ]
    assert len(given) == 4  # two copies, two persons each
    assert {e.message_id for e in given} == {
        copy.headers["helhet-copy-id"],
        danish.headers["helhet-copy-id"],
    }
    assert all(e.purpose == "family_copy" and e.outcome == "given" for e in given)


def test_closing_lapses_consents_and_answers_retention(gw: Gateway) -> None:
    parent, _, family = _family(gw, ["nav"])
    consent = gw.consent(
        subject=parent,
        given_by=[parent],
        sources=["*"],
        recipients=["*"],
        categories=["*"],
    )
    with gw.client("coordinator") as c:
        c.post(f"/v1/plans/{family}/goals", json={"subject": parent, "title": "Komme i jobb"})
        before = c.get(f"/v1/plans/{family}/retention").json()
        assert before["status"] == "open" and before["closes_at"] is None
        assert before["will_delete"]["plan_entries"] == 1
        closed = c.post(f"/v1/plans/{family}/close", json={"reason": "målene er nådd"})
        assert closed.status_code == 200, closed.text
        answer = closed.json()
        assert answer["status"] == "closed" and answer["consents_lapsed"] == 1
        assert answer["enrolment"]["end"] == dt.date.today().isoformat()
        closed_at = dt.datetime.fromisoformat(answer["closed_at"])
        assert dt.datetime.fromisoformat(answer["delete_after"]) == closed_at + dt.timedelta(
            days=gw.settings.plan_retention_days
        )
        assert answer["will_delete"]["family_members"] == 2
        again = c.post(f"/v1/plans/{family}/goals", json={"subject": parent, "title": "x"})
        assert again.status_code == 409
        status = c.get(f"/v1/consents/{consent}").json()
        assert status["status"] == "withdrawn" and status["withdrawal_reason"].startswith("lapsed")
    with gw.client("privacy_officer") as c:
        assert c.get(f"/v1/plans/{family}/retention").json()["status"] == "closed"
    # Records about the family route nowhere now.
    with gw.client("nav") as c:
        assert c.post(f"/v1/plans/{family}/overviews", json={}).json()["routes"] == []
