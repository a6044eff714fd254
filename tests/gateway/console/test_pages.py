"""The console's pages over real HTTP: what each shows, that every view of personal data is an
access entry naming the person who looked, that person numbers never travel in URLs, and that
consent changes made here are the same records and log entries the API makes."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re

from audit.entries import EntryType, LogEntry
from consent import store
from tests.helpers import intake
from tests.helpers.console import Seeded, csrf_of, post_form, signed_in


def reads(world: Seeded, since: int = 0) -> list[LogEntry]:
    return [
        e
        for e in world.gw.log_entries()[since:]
        if e.event_type is EntryType.ACCESS and e.outcome == "read"
    ]


def test_disclosure_search_pages_counts_and_logs_the_read(world: Seeded) -> None:
    gw = world.gw
    before = len(gw.log_entries())
    with signed_in(gw, "privacy_officer") as client:
        answer = post_form(
            client,
            "/console/disclosures",
            "/console/disclosures",
            {"person": world.child, "recipient": "health", "source": "", "type": ""},
        )
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert world.child not in location and re.fullmatch(
            r"/console/disclosures\?q=\S+", location
        )
        page = client.get(location)
    assert page.status_code == 200
    rows = re.findall(r'href="/console/disclosures/(\d+)"', page.text)
    health = [
        e
        for e in gw.log_entries()
        if e.recipient == "health" and e.subject_pseudonym == gw.services.pseudonym(world.child)
    ]
    assert sorted(int(r) for r in rows) == sorted(e.index for e in health)
    assert "Helsestasjonen Testby" in page.text and "<svg" in page.text
    read = reads(world, before)[-1]
    assert read.client == "dpo" and read.details["read"] == "/console/disclosures"
    assert read.subject_pseudonym == gw.services.pseudonym(world.child)
    assert read.details["returned"] == len(health)
    assert "recipient=health" in str(read.details["query"])
    assert world.child not in json.dumps(read.details)


def test_a_bad_search_is_answered_on_the_form_and_stores_nothing(world: Seeded) -> None:
    with signed_in(world.gw, "privacy_officer") as client:
        answer = post_form(
            client,
            "/console/disclosures",
            "/console/disclosures",
            {"person": "12345678901", "from": "2026-05-02", "to": "2026-05-01"},
        )
    assert answer.status_code == 422
    assert 'id="person-error"' in answer.text and 'id="to-error"' in answer.text


def test_an_entry_shows_its_basis_and_inclusion_proof(world: Seeded) -> None:
    gw = world.gw
    statute = next(e for e in gw.log_entries() if e.basis == "statute:bvl-13-2")
    with signed_in(gw, "privacy_officer") as client:
        page = client.get(f"/console/disclosures/{statute.index}")
        missing = client.get("/console/disclosures/99999")
    assert page.status_code == 200
    assert "barnevernsloven" in page.text and "§ 13-2" in page.text
    assert re.search(r'id="proof-status">Bevist', page.text)
    assert missing.status_code == 404
    read = reads(world)[-1]
    assert read.details == {"read": "/console/disclosures/{index}", "entry": statute.index,
                            "tree_size": read.details["tree_size"]}  # fmt: skip
    assert read.subject_pseudonym == statute.subject_pseudonym


def test_access_report_names_every_recipient_and_exports(world: Seeded) -> None:
    gw = world.gw
    pseudonym = gw.services.pseudonym(world.child)
    recipients = {
        e.recipient
        for e in gw.log_entries()
        if e.event_type is EntryType.DISCLOSURE and e.subject_pseudonym == pseudonym
    }
    assert recipients == {"health", "child_welfare"}
    with signed_in(gw, "privacy_officer") as client:
        made = post_form(client, "/console/reports", "/console/reports", {"person": world.child})
        assert made.status_code == 303 and world.child not in made.headers["location"]
        report = client.get(made.headers["location"])
        letter = client.get(made.headers["location"] + "/letter?lang=da")
        exported = client.get(made.headers["location"] + "/export?format=csv")
        bundle = client.get(made.headers["location"] + "/export?format=fhir-r4")
    names = re.findall(r'<ul id="recipients">(.*?)</ul>', report.text, re.S)[0]
    assert "Helsestasjonen Testby" in names and "Barneverntjenesten Testby" in names
    assert "Hvem har fået oplysninger om dig" in letter.text and world.child in letter.text
    assert "www.datatilsynet.no" in letter.text  # a Norwegian instance, whatever the language
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["subject_pseudonym"] for r in rows} == {pseudonym}
    assert {r["recipient"] for r in rows if r["event_type"] == "disclosure"} == recipients
    events = bundle.json()["entry"]
    assert bundle.json()["resourceType"] == "Bundle"
    assert {e["resource"]["resourceType"] for e in events} == {"AuditEvent"}
    logged = [r for r in reads(world) if r.details["read"] == "/console/reports/{key}"]
    assert [r.details["format"] for r in logged] == ["html", "letter-da", "csv", "fhir-r4"]
    assert {r.subject_pseudonym for r in logged} == {pseudonym}


def test_a_coordinator_is_refused_the_privacy_officers_pages(world: Seeded) -> None:
    with signed_in(world.gw, "coordinator") as client:
        for path in ("/console/disclosures", "/console/reports", "/console/log"):
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert "Du har ikke tilgang" in answer.text
    refusals = [
        e
        for e in world.gw.log_entries()
        if e.event_type is EntryType.ACCESS and e.outcome == "denied" and e.reason == "role"
    ]
    assert [(e.client, e.details["route"]) for e in refusals] == [
        ("coordinator", "/console/disclosures"),
        ("coordinator", "/console/reports"),
        ("coordinator", "/console/log"),
    ]


def test_a_privacy_officer_is_refused_the_coordinators_pages(world: Seeded) -> None:
    with signed_in(world.gw, "privacy_officer") as client:
        assert client.get("/console/families").status_code == 403
        assert client.get(f"/console/families/{world.family_id}").status_code == 403


def test_the_family_overview_is_an_access_entry_per_member(world: Seeded) -> None:
    gw = world.gw
    before = len(gw.log_entries())
    with signed_in(gw, "coordinator") as client:
        page = client.get(f"/console/families/{world.family_id}")
    assert page.status_code == 200
    received = re.findall(r'<table id="received">(.*?)</table>', page.text, re.S)[0]
    assert "Helsetjenesten" in received and "Barnevernet" in received  # agencies, not content
    assert "item 0" not in page.text  # an item's title is content: never shown
    logged = reads(world, before)
    family = gw.services
    assert {e.subject_pseudonym for e in logged} == {
        family.pseudonym(p) for p in (world.child, *world.parents)
    }
    assert {e.family_id for e in logged} == {world.family_id}
    assert {e.client for e in logged} == {"coordinator"}


def test_consent_preview_save_and_withdrawal(world: Seeded) -> None:
    gw = world.gw
    form_page = f"/console/families/{world.family_id}/consents/new?member=2"
    action = f"/console/families/{world.family_id}/consents"
    fields = {
        "member": "2",
        "given_by": list(world.parents),
        "sources": ["school"],
        "recipients": ["nav"],
        "categories": ["education.attendance"],
        "evidence_method": "written",
        "evidence_reference": "case 2026/41",
    }
    with signed_in(gw, "coordinator") as client:
        blank = client.get(form_page)
        assert all(f'value="{p}" checked' in blank.text for p in world.parents)  # must sign
        preview = post_form(client, form_page, action, {**fields, "action": "preview"})
        assert preview.status_code == 200
        row = re.search(r'<tr class="changes">(.*?)</tr>', preview.text, re.S)
        assert row is not None, "the preview shows no change"
        assert (
            "NAV" in row.group(1) and "deles ikke" in row.group(1) and "deles</td>" in row.group(1)
        )
        with gw.engine.connect() as conn:  # a preview records nothing
            assert store.list_for_subject(conn, world.child)[-1].consent_id == world.consent_id
        saved = post_form(client, form_page, action, {**fields, "action": "save"})
        assert saved.status_code == 303
        with gw.engine.connect() as conn:
            records = store.list_for_subject(conn, world.child)
        new = records[-1]
        assert new.consent_id != world.consent_id and new.recorded_by == "coordinator"
        assert [str(r) for r in new.recipients] == ["nav"]

        # A record forwarded under it waits in the outbox; withdrawing shows it stopped.
        intake.forward(
            gw.services,
            "school",
            [intake.plan_update("school", world.child, ["education.attendance"])],
            now=dt.datetime.now(dt.UTC),
        )
        withdraw_page = f"/console/consents/{new.consent_id}/withdraw?family={world.family_id}"
        shown = client.get(withdraw_page)
        assert re.search(r'<table id="waiting">.*NAV', shown.text, re.S)
        empty = post_form(client, withdraw_page, withdraw_page.split("?")[0], {"reason": ""})
        assert empty.status_code == 422
        done = post_form(
            client, withdraw_page, withdraw_page.split("?")[0], {"reason": "the family asked"}
        )
    assert done.status_code == 200 and "Samtykket er trukket tilbake" in done.text
    assert re.search(r'<table id="waiting">.*NAV', done.text, re.S)
    assert "Opplysninger mottatt etter dette samtykket" in done.text  # the notice, translated
    with gw.engine.connect() as conn:
        latest = store.get(conn, new.consent_id)
    assert latest.status.value == "withdrawn" and latest.withdrawal_reason == "the family asked"
    consent_entries = [e for e in gw.log_entries() if e.event_type is EntryType.CONSENT]
    assert [(e.outcome, e.client) for e in consent_entries[-2:]] == [
        ("recorded", "coordinator"),
        ("withdrawn", "coordinator"),
    ]


def test_enrolling_a_family_from_the_form(world: Seeded) -> None:
    parent, parent_born = intake.person(35)
    child, child_born = intake.person(7)
    fields = {
        "member-0-id": parent,
        "member-0-birth": parent_born.isoformat(),
        "member-0-role": "parent",
        "member-0-guardian": "yes",
        "member-1-id": child,
        "member-1-birth": child_born.isoformat(),
        "member-1-role": "child",
        "team": ["school", "health"],
        "coordinator_name": "Kari Koordinator",
        "coordinator_agency": "family_centre",
    }
    with signed_in(world.gw, "coordinator") as client:
        bad = post_form(
            client, "/console/families/new", "/console/families/new",
            {**fields, "member-1-id": "12345678901", "team": []},
        )  # fmt: skip
        assert bad.status_code == 422
        assert 'id="member-1-id-error"' in bad.text and 'id="team-error"' in bad.text
        good = post_form(client, "/console/families/new", "/console/families/new", fields)
        assert good.status_code == 303
        family_page = client.get(good.headers["location"])
    assert "Familien er registrert" in family_page.text
    family_id = good.headers["location"].rsplit("/", 1)[1]
    with world.gw.client("coordinator") as api:
        family = api.get(f"/v1/families/{family_id}").json()
    members = {m["id"]: m for m in family["members"]}
    assert members[child]["guardians"] == [parent] and members[parent]["guardians"] == []
    assert family["team"] == ["school", "health"]


def test_language_is_switched_by_link_and_remembered(world: Seeded) -> None:
    with signed_in(world.gw, "privacy_officer") as client:
        norwegian = client.get("/console")
        danish = client.get("/console?lang=da")
        remembered = client.get("/console/log")
        english = client.get("/console/log?lang=en")
    assert '<html lang="nb">' in norwegian.text and "Utleveringer" in norwegian.text
    assert '<html lang="da">' in danish.text and "Videregivelser" in danish.text
    assert '<html lang="da">' in remembered.text
    assert "Entries in the log" in english.text
    assert csrf_of(english.text)


def test_a_running_verification_shows_its_progress(world: Seeded) -> None:
    console = world.gw.app.state.console
    started = console.verifier.start("dpo")
    console.verifier.wait(30)
    # As the page finds it while a long run is under way:
    console.verifier._current = dataclasses.replace(
        started, checked=started.total // 2, finished_at=None
    )
    with signed_in(world.gw, "operator") as client:
        page = client.get("/console/log")
        progress = client.get("/console/log/verification").json()
    assert re.search(r'<progress id="verify-progress" max="100" value="(\d+)"', page.text)
    assert 'data-running="true"' in page.text and 'http-equiv="refresh"' in page.text
    assert progress["running"] is True and progress["checked"] == started.total // 2
    assert progress["total"] == started.total
