"""The family plan's pages in the console over real HTTP: the coordinator writes goals,
measures, meetings and evaluations with plain forms, changes a status, reads each entry's
versions, previews and sends the overviews, gives the family its copy and closes the plan —
through the plan's own services, so the entries, versions and log entries are the API's. Other
roles are refused and logged, every form needs its CSRF token, and a refused form stores
nothing and names the field."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from audit.entries import EntryType, LogEntry
from gateway.db.tables import outbox, plan_entries
from gateway.plan import store
from tests.helpers import intake
from tests.helpers.console import Seeded, csrf_of, post_form, signed_in

TODAY = dt.date.today()


def plan_page(world: Seeded) -> str:
    return f"/console/families/{world.family_id}/plan"


def with_plan_consents(world: Seeded) -> Seeded:
    """The mother: goals and the overview to the whole team, her measures' details to NAV; the
    child (both parents sign): goals, overview and measures to the school only."""
    services = world.gw.services
    mother, father = world.parents
    intake.consent(
        services,
        mother,
        sources=["coordinator"],
        recipients=["*"],
        categories=["plan.goal", "plan.overview"],
    )
    intake.consent(
        services, mother, sources=["coordinator"], recipients=["nav"], categories=["plan.measure"]
    )
    intake.consent(
        services,
        world.child,
        given_by=[mother, father],
        sources=["coordinator"],
        recipients=["school"],
        categories=["plan.goal", "plan.overview", "plan.measure"],
    )
    return world


@pytest.fixture
def coordinator(world: Seeded) -> Iterator[httpx.Client]:
    with_plan_consents(world)
    with signed_in(world.gw, "coordinator") as client:
        yield client


def submit(client: httpx.Client, world: Seeded, action: str, data: dict[str, Any]) -> Any:
    return post_form(client, plan_page(world), plan_page(world) + action, data)


def add_goal(client: httpx.Client, world: Seeded, **fields: Any) -> str:
    answer = submit(client, world, "/goals", {"goal-status": "planned", **fields})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"].rsplit("#entry-", 1)[1])


def entries(world: Seeded) -> list[store.Entry]:
    with world.gw.engine.connect() as conn:
        return store.latest(conn, world.family_id)


def since(world: Seeded, before: int) -> list[LogEntry]:
    return world.gw.log_entries()[before:]


def test_the_family_page_leads_to_the_plan_and_reading_it_is_logged_per_member(
    world: Seeded, coordinator: httpx.Client
) -> None:
    family = coordinator.get(f"/console/families/{world.family_id}")
    assert f'href="{plan_page(world)}"' in family.text
    before = len(world.gw.log_entries())
    page = coordinator.get(plan_page(world))
    assert page.status_code == 200
    assert "Familiens plan" in page.text
    # An open-ended enrolment: deletion comes the retention period after closing.
    assert "90" in re.findall(r'<p id="retention-text">(.*?)</p>', page.text, re.S)[0]
    reads = [e for e in since(world, before) if e.event_type is EntryType.ACCESS]
    services = world.gw.services
    assert {e.subject_pseudonym for e in reads} == {
        services.pseudonym(p) for p in (world.child, *world.parents)
    }
    assert {(e.client, e.family_id, e.details["read"]) for e in reads} == {
        ("coordinator", world.family_id, "/console/families/{family_id}/plan")
    }


def test_goals_measures_meetings_and_evaluations_from_the_forms(
    world: Seeded, coordinator: httpx.Client
) -> None:
    mother = world.parents[0]
    due = (TODAY + dt.timedelta(days=180)).isoformat()
    goal = add_goal(
        coordinator,
        world,
        **{"goal-subject": mother, "goal-title": "Komme i jobb", "goal-due": due},
    )
    measure = submit(
        coordinator,
        world,
        "/measures",
        {
            "measure-subject": mother,
            "measure-title": "Arbeidstrening",
            "measure-description": "Tre dager i uka",
            "measure-agency": "nav",
            "measure-unit": "NAV Testby",
            "measure-start": TODAY.isoformat(),
            "measure-status": "in_progress",
        },
    )
    assert measure.status_code == 303
    homework = submit(
        coordinator,
        world,
        "/measures",
        {
            "measure-subject": world.child,
            "measure-title": "Leksehjelp",
            "measure-agency": "school",
            "measure-due": due,
            "measure-status": "planned",
        },
    )
    assert homework.status_code == 303
    held = (TODAY - dt.timedelta(days=3)).isoformat()
    past = submit(
        coordinator,
        world,
        "/meetings",
        {
            "meeting-date": held,
            "meeting-participants": ["nav", "school"],
            "meeting-evaluated": [goal],
            "meeting-status": "held",
        },
    )
    assert past.status_code == 303
    past_id = past.headers["location"].rsplit("#entry-", 1)[1]
    coming = (TODAY + dt.timedelta(days=40)).isoformat()
    assert (
        submit(
            coordinator,
            world,
            "/meetings",
            {"meeting-date": coming, "meeting-participants": ["nav"], "meeting-status": "planned"},
        ).status_code
        == 303
    )
    evaluation = submit(
        coordinator,
        world,
        "/evaluations",
        {
            "evaluation-goal_id": goal,
            "evaluation-result": "partly",
            "evaluation-text": "Søkt på tre jobber",
            "evaluation-date": held,
            "evaluation-meeting_id": past_id,
        },
    )
    assert evaluation.status_code == 303
    flash = coordinator.get(evaluation.headers["location"])

    stored = {e.kind.value: e for e in entries(world)}
    assert [e.kind.value for e in entries(world)] == [
        "goal",
        "measure",
        "measure",
        "meeting",
        "meeting",
        "evaluation",
    ]
    assert stored["goal"].document == {
        "subject": mother,
        "title": "Komme i jobb",
        "due": due,
        "status": "planned",
    }
    assert all(e.recorded_by == "coordinator" and e.version == 1 for e in entries(world))
    # The same forwarding as the API: the measure's details to NAV only, logged.
    measure_log = [
        e
        for e in world.gw.log_entries()
        if e.event_type is EntryType.DISCLOSURE and e.details.get("record_type") == "plan.measure"
    ]
    assert {(e.recipient, e.source) for e in measure_log} == {
        ("nav", "coordinator"),
        ("school", "coordinator"),
    }

    page = flash.text
    assert "Evalueringen er lagt til i planen" in page
    # Goals first, then measures per agency, then the meetings.
    order = [page.index(x) for x in ('id="goals"', 'id="measures-nav"', 'id="next-meeting"')]
    assert order == sorted(order)
    goals = re.findall(r'<table id="goals">(.*?)</table>', page, re.S)[0]
    assert "Komme i jobb" in goals and "delvis nådd" in goals and "Søkt på tre jobber" in goals
    assert "Arbeidstrening" in page.split('id="measures-nav"')[1].split("</table>")[0]
    assert "Leksehjelp" in page.split('id="measures-school"')[1].split("</table>")[0]
    next_meeting = page.split('id="next-meeting"')[1].split("</div>")[0]
    assert str(int(coming[8:])) in next_meeting and "NAV" in next_meeting
    earlier = re.findall(r'<table id="past-meetings">(.*?)</table>', page, re.S)[0]
    assert "Komme i jobb" in earlier and "delvis nådd" in earlier


def test_a_status_change_is_a_new_version_and_a_stale_form_changes_nothing(
    world: Seeded, coordinator: httpx.Client
) -> None:
    goal = add_goal(
        coordinator, world, **{"goal-subject": world.child, "goal-title": "Gå på skolen hver dag"}
    )
    entry_page = f"{plan_page(world)}/entries/{goal}"
    action = f"{entry_page}/status"
    changed = post_form(coordinator, entry_page, action, {"version": "1", "status": "in_progress"})
    assert changed.status_code == 303
    # A form shown before that change (version 1) would overwrite it: refused, nothing stored.
    token = csrf_of(coordinator.get(entry_page).text)
    stale = coordinator.post(action, data={"csrf": token, "version": "1", "status": "cancelled"})
    assert stale.status_code == 412
    assert 'id="status-error"' in stale.text and "endret" in stale.text
    with world.gw.engine.connect() as conn:
        history = store.history(conn, world.family_id, goal)
    assert [(v.version, v.document["status"], v.recorded_by) for v in history] == [
        (1, "planned", "coordinator"),
        (2, "in_progress", "coordinator"),
    ]
    page = coordinator.get(entry_page)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(\d)</th>(.*?)</tr>", page.text, re.S)
    assert [n for n, _ in rows] == ["2", "1"]
    assert "planlagt → pågår" in re.sub(r"\s+", " ", rows[0][1])
    assert "coordinator" in rows[0][1] and "Opprettet" in rows[1][1]
    read = world.gw.log_entries()[-1]
    assert read.event_type is EntryType.ACCESS
    assert read.subject_pseudonym == world.gw.services.pseudonym(world.child)
    assert read.details["read"] == "/console/families/{family_id}/plan/entries/{entry_id}"


@pytest.mark.parametrize(
    ("action", "fields", "field", "message"),
    [
        ("/goals", {"goal-title": "Mål", "goal-due": "2026-02-30"}, "goal-due", "ÅÅÅÅ-MM-DD"),
        ("/goals", {"goal-title": "", "goal-due": "2026-03-01"}, "goal-title", "Fyll ut"),
        (
            "/measures",
            {"measure-title": "Tiltak", "measure-agency": "housing"},
            "measure-agency",
            "familiens team",
        ),
        (
            "/measures",
            {
                "measure-title": "Tiltak",
                "measure-agency": "nav",
                "measure-start": "2026-05-01",
                "measure-end": "2026-04-01",
            },
            "measure-end",
            "før",
        ),
        ("/meetings", {"meeting-date": "2026-06-01"}, "meeting-participants", "minst én"),
        (
            "/meetings",
            {"meeting-date": "1. juni", "meeting-participants": ["nav"]},
            "meeting-date",
            "ÅÅÅÅ-MM-DD",
        ),
        (
            "/evaluations",
            {
                "evaluation-goal_id": "nosuchgoal",
                "evaluation-result": "reached",
                "evaluation-text": "ok",
            },
            "evaluation-goal_id",
            "mål i denne planen",
        ),
    ],
)
def test_a_refused_form_comes_back_with_the_error_at_its_field_and_nothing_stored(
    world: Seeded,
    coordinator: httpx.Client,
    action: str,
    fields: dict[str, Any],
    field: str,
    message: str,
) -> None:
    kind = action.strip("/").removesuffix("s")
    defaults = {
        "goal": {"goal-subject": world.child, "goal-status": "planned"},
        "measure": {"measure-subject": world.child, "measure-status": "planned"},
        "meeting": {"meeting-status": "planned"},
        "evaluation": {},
    }[kind]
    add_goal(coordinator, world, **{"goal-subject": world.child, "goal-title": "Et mål"})
    before = len(world.gw.log_entries())
    queued, stored = world.gw.count(outbox), world.gw.count(plan_entries)
    answer = submit(coordinator, world, action, {**defaults, **fields})
    assert answer.status_code == 422, answer.text
    error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', answer.text)
    assert error is not None and message in error.group(1), answer.text
    assert f'aria-describedby="{field}-error"' in answer.text
    for name, value in fields.items():  # the form is given back as filled in
        if isinstance(value, str) and value and name != field:
            assert f'value="{value}"' in answer.text or f">{value}<" in answer.text
    assert world.gw.count(plan_entries) == stored and world.gw.count(outbox) == queued
    assert {e.event_type for e in since(world, before)} == {EntryType.ACCESS}


FORMS = [
    "/goals",
    "/measures",
    "/meetings",
    "/evaluations",
    "/entries/{goal}/status",
    "/overviews",
    "/family-copy",
    "/close",
]


def test_every_form_needs_the_sessions_csrf_token(world: Seeded, coordinator: httpx.Client) -> None:
    goal = add_goal(coordinator, world, **{"goal-subject": world.child, "goal-title": "Et mål"})
    before = len(world.gw.log_entries())
    versions = world.gw.count(plan_entries)
    for form in FORMS:
        for token in ({}, {"csrf": "not-the-token"}):
            answer = coordinator.post(
                plan_page(world) + form.format(goal=goal),
                data={
                    **token,
                    "goal-subject": world.child,
                    "goal-title": "Et annet mål",
                    "version": "1",
                    "status": "completed",
                    "close-reason": "ferdig",
                    "copy-language": "nb",
                },
            )
            assert answer.status_code == 403, form
    logged = since(world, before)  # repeats of one refusal are counted, not logged each
    assert {(e.outcome, e.reason, e.client) for e in logged} == {("denied", "csrf", "coordinator")}
    assert sorted(e.details["route"] for e in logged) == sorted(
        "/console/families/{family_id}/plan" + f.replace("{goal}", "{entry_id}") for f in FORMS
    )
    assert world.gw.count(plan_entries) == versions
    with world.gw.engine.connect() as conn:
        plan = store.get_plan(conn, world.family_id)
    assert plan is not None and plan.status == "open"


def test_privacy_officer_operator_and_agency_are_refused_and_logged(world: Seeded) -> None:
    gw = world.gw
    pages = ["", "/overview", "/entries/x"]
    before = len(gw.log_entries())
    for who in ("privacy_officer", "operator"):
        with signed_in(gw, who) as client:
            for page in pages:
                answer = client.get(plan_page(world) + page)
                assert answer.status_code == 403, (who, page)
                assert "Du har ikke tilgang" in answer.text
            token = csrf_of(client.get("/console").text)
            for form in FORMS:
                answer = client.post(
                    plan_page(world) + form.format(goal="x"),
                    data={"csrf": token, "goal-title": "x", "close-reason": "x"},
                )
                assert answer.status_code == 403, (who, form)
    refused = [e for e in since(world, before) if e.outcome == "denied"]
    assert {(e.client, e.reason) for e in refused} == {("dpo", "role"), ("ops", "role")}
    assert len(refused) == 2 * (len(pages) + len(FORMS))
    # An agency system cannot sign in, and its token opens no console page.
    with httpx.Client(base_url=gw.base_url) as agency:
        form = agency.get("/console/sign-in")
        refused_sign_in = agency.post(
            "/console/sign-in", data={"csrf": csrf_of(form.text), "token": gw.tokens["health"]}
        )
        direct = agency.get(
            plan_page(world), headers={"Authorization": f"Bearer {gw.tokens['health']}"}
        )
    assert refused_sign_in.status_code == 403
    assert direct.status_code == 303 and "/console/sign-in" in direct.headers["location"]
    last = gw.log_entries()[-2:]
    assert [(e.client, e.reason) for e in last] == [
        ("health-system", "role"),
        ("unknown", "no_session"),
    ]
    assert world.gw.count(plan_entries) == 0


def test_the_overview_preview_follows_consent_per_member_and_sending_is_logged(
    world: Seeded, coordinator: httpx.Client
) -> None:
    mother = world.parents[0]
    add_goal(coordinator, world, **{"goal-subject": mother, "goal-title": "Komme i jobb"})
    add_goal(coordinator, world, **{"goal-subject": world.child, "goal-title": "Trives på skolen"})
    before = len(world.gw.log_entries())
    page = coordinator.get(plan_page(world) + "/overview")
    assert page.status_code == 200

    def section(agency: str, text: str) -> str:
        return text.split(f'id="overview-{agency}"')[1].split("</section>")[0]

    school, nav = section("school", page.text), section("nav", page.text)
    assert "Komme i jobb" in school and "Trives på skolen" in school
    assert "Komme i jobb" in nav and "Trives på skolen" not in nav
    assert world.child in nav.split('class="withheld"')[1]  # held back, with the reason
    reads = [e for e in since(world, before) if e.event_type is EntryType.ACCESS]
    assert len(reads) == 3 and {e.details["read"] for e in reads} == {
        "/console/families/{family_id}/plan/overview"
    }

    before = len(world.gw.log_entries())
    sent = post_form(
        coordinator, plan_page(world) + "/overview", plan_page(world) + "/overviews", {}
    )
    assert sent.status_code == 200
    rows = dict(re.findall(r'<tr data-recipient="(\w+)">(.*?)</tr>', sent.text, re.S))
    assert set(rows) == {"school", "health", "child_welfare", "nav"}
    cells = {r: re.findall(r"<td>(.*?)</td>", row) for r, row in rows.items()}
    goals = "Familiens mål og evalueringene av dem"
    assert cells["school"] == [goals, "ingenting"]  # both goals sent, nothing held back
    assert cells["nav"] == [goals, goals]  # the mother's goal sent, the child's held back
    overviews = [e for e in since(world, before) if e.details.get("record_type") == "overview"]
    disclosed = {
        (e.recipient, e.subject_pseudonym)
        for e in overviews
        if e.event_type is EntryType.DISCLOSURE
    }
    pseudonym = world.gw.services.pseudonym
    assert ("school", pseudonym(world.child)) in disclosed
    assert ("nav", pseudonym(world.child)) not in disclosed
    assert ("nav", pseudonym(mother)) in disclosed


def test_the_family_copy_is_given_and_recorded_as_the_api_records_it(
    world: Seeded, coordinator: httpx.Client
) -> None:
    mother = world.parents[0]
    add_goal(coordinator, world, **{"goal-subject": mother, "goal-title": "Komme i jobb"})
    before = len(world.gw.log_entries())
    copy = post_form(
        coordinator,
        plan_page(world),
        plan_page(world) + "/family-copy",
        {"copy-language": "da", "copy-members": [mother]},
    )
    assert copy.status_code == 200
    assert '<html lang="da">' in copy.text and "Vores mål" in copy.text
    assert "Komme i jobb" in copy.text and "@media print" in copy.text
    style = re.findall(r"<style>(.*?)</style>", copy.text, re.S)[0]
    digest = hashlib.sha256(style.encode()).digest()
    assert (
        f"style-src 'sha256-{base64.b64encode(digest).decode()}'"
        in copy.headers["content-security-policy"]
    )
    given = [e for e in since(world, before) if e.event_type is EntryType.DISCLOSURE]
    with world.gw.client("coordinator") as api:
        answer = api.post(
            f"/v1/plans/{world.family_id}/family-copy",
            json={"language": "da", "members": [mother]},
        )
    by_api = [
        e
        for e in world.gw.log_entries()
        if e.event_type is EntryType.DISCLOSURE and e.message_id == answer.headers["helhet-copy-id"]
    ]

    def shape(e: LogEntry) -> tuple[Any, ...]:
        return (
            e.source,
            e.recipient,
            e.subject_pseudonym,
            tuple(e.categories),
            e.purpose,
            e.outcome,
            e.reason,
            e.client,
            e.family_id,
            e.details,
        )

    assert [shape(e) for e in given] == [shape(e) for e in by_api]
    assert given[0].payload_sha256 == hashlib.sha256(copy.content).hexdigest()
    assert given[0].message_id == copy.headers["helhet-copy-id"]


def test_a_copy_in_an_unknown_language_or_about_a_stranger_is_refused_and_not_recorded(
    world: Seeded, coordinator: httpx.Client
) -> None:
    stranger, _ = intake.person(30)
    before = len(world.gw.log_entries())
    for fields in (
        {"copy-language": "fr"},
        {"copy-language": "nb", "copy-members": [world.child, stranger]},
    ):
        answer = submit(coordinator, world, "/family-copy", fields)
        assert answer.status_code == 422
        assert 'id="copy-form-error"' in answer.text
    assert {e.event_type for e in since(world, before)} == {EntryType.ACCESS}


@pytest.mark.parametrize(
    ("language", "heading", "button"),
    [("nb", "Familiens plan", "Legg til målet"), ("da", "Familiens plan", "Tilføj målet"),
     ("en", "The family's plan", "Add the goal")],
)  # fmt: skip
def test_the_plan_page_in_each_language(
    world: Seeded, coordinator: httpx.Client, language: str, heading: str, button: str
) -> None:
    add_goal(coordinator, world, **{"goal-subject": world.child, "goal-title": "Et mål"})
    page = coordinator.get(plan_page(world), params={"lang": language})
    assert f'<html lang="{language}">' in page.text
    assert f"<h1>{heading}</h1>" in page.text and f">{button}</button>" in page.text
    status = {"nb": "planlagt", "da": "planlagt", "en": "planned"}[language]
    goals = re.findall(r'<table id="goals">(.*?)</table>', page.text, re.S)[0]
    assert f"<td>{status}</td>" in goals


def test_closing_the_plan_from_the_console(world: Seeded, coordinator: httpx.Client) -> None:
    add_goal(coordinator, world, **{"goal-subject": world.child, "goal-title": "Et mål"})
    empty = submit(coordinator, world, "/close", {"close-reason": ""})
    assert empty.status_code == 422 and 'id="close-reason-error"' in empty.text
    with world.gw.engine.connect() as conn:
        assert store.get_plan(conn, world.family_id).status == "open"  # type: ignore[union-attr]
    closed = submit(coordinator, world, "/close", {"close-reason": "familien flytter"})
    assert closed.status_code == 303
    page = coordinator.get(closed.headers["location"])
    assert re.search(r'id="plan-status">lukket<', page.text)
    with world.gw.engine.connect() as conn:
        plan = store.get_plan(conn, world.family_id)
    assert plan is not None and plan.delete_after is not None
    retention = re.findall(r'<p id="retention-text">(.*?)</p>', page.text, re.S)[0]
    assert str(plan.delete_after.year) in retention
    assert 'action="' + plan_page(world) + '/goals"' not in page.text  # no more changes
    late = submit(
        coordinator, world, "/goals", {"goal-subject": world.child, "goal-title": "For sent"}
    )
    assert late.status_code == 409
    assert re.search(r'id="plan-error">Planen er lukket', late.text)
    assert world.gw.count(plan_entries) == 1
