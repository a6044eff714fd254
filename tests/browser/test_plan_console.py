"""The family plan in headless Chromium, as a coordinator writes it: from the family's page to
its plan, a goal for the mother and one for the child, a measure for NAV, a review meeting; the
overview each team member would get, which differs as the family's consents say; and the
family's printable copy. The plan page, the overviews and the copy pass axe-core (no serious or
critical violation) and are kept as screenshots."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from audit.entries import EntryType
from tests.helpers import intake
from tests.helpers.browser import axe_violations, describe, sign_in
from tests.helpers.console import Seeded


def check_page(page: Any, axe_source: str, artifacts: Path, name: str) -> None:
    """No serious or critical axe-core violation; a full-page screenshot kept as an artifact."""
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    violations = axe_violations(page, axe_source)
    assert not violations, f"{name}:\n{describe(violations)}"


def test_coordinator_writes_the_plan_previews_the_overviews_and_gives_the_family_its_copy(
    page: Any, seeded: Seeded, axe_source: str, artifacts: Path
) -> None:
    gw = seeded.gw
    mother, father = seeded.parents
    child = seeded.child
    # The mother shares her goals and the overview with the whole team and her measures'
    # details with NAV; for the child, both parents agree to the school only.
    intake.consent(
        gw.services,
        mother,
        sources=["coordinator"],
        recipients=["*"],
        categories=["plan.goal", "plan.overview"],
    )
    intake.consent(
        gw.services,
        mother,
        sources=["coordinator"],
        recipients=["nav"],
        categories=["plan.measure"],
    )
    intake.consent(
        gw.services,
        child,
        given_by=[mother, father],
        sources=["coordinator"],
        recipients=["school"],
        categories=["plan.goal", "plan.overview", "plan.measure"],
    )
    today = dt.date.today()
    meeting_day = today + dt.timedelta(days=30)

    sign_in(page, gw.base_url, gw.tokens["coordinator"])
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Familier").click()
    page.get_by_role("link", name=seeded.family_id[:8]).click()
    page.get_by_role("link", name="Familiens plan").click()
    assert page.locator("h1").inner_text() == "Familiens plan"

    goal = page.locator("#goal-form")
    goal.get_by_label("Hvem sitt mål").select_option(mother)
    goal.get_by_label("Målet, med familiens egne ord").fill("Komme i jobb før sommeren")
    goal.get_by_label("Innen (valgfritt)").fill((today + dt.timedelta(days=200)).isoformat())
    goal.get_by_role("button", name="Legg til målet").click()
    assert "Målet er lagt til i planen" in page.get_by_role("status").first.inner_text()
    goal = page.locator("#goal-form")
    goal.get_by_label("Hvem sitt mål").select_option(child)
    goal.get_by_label("Målet, med familiens egne ord").fill("Trives på skolen")
    goal.get_by_role("button", name="Legg til målet").click()

    measure = page.locator("#measure-form")
    measure.get_by_label("For hvem").select_option(mother)
    measure.get_by_label("Ansvarlig virksomhet").select_option("nav")
    measure.get_by_label("Hva", exact=True).fill("Arbeidstrening")
    measure.get_by_label("Fra (valgfritt)").fill(today.isoformat())
    measure.get_by_label("Status").select_option("in_progress")
    measure.get_by_role("button", name="Legg til tiltaket").click()
    assert "Tiltaket er lagt til i planen" in page.get_by_role("status").first.inner_text()

    meeting = page.locator("#meeting-form")
    meeting.get_by_label("Dato").fill(meeting_day.isoformat())
    participants = meeting.get_by_role("group", name="Virksomheter som deltar")
    participants.get_by_label("NAV").check()
    participants.get_by_label("Skole").check()
    meeting.get_by_role("group", name=re.compile("Mål og tiltak")).get_by_label(
        "Komme i jobb før sommeren"
    ).check()
    meeting.get_by_role("button", name="Legg til møtet").click()

    goals = page.locator("#goals tbody tr").all_inner_texts()
    assert [g.split("\t")[1].strip() for g in goals] == [
        "Komme i jobb før sommeren",
        "Trives på skolen",
    ]
    assert "Arbeidstrening" in page.locator("table.measures").first.inner_text()
    assert page.locator("#measures-nav").inner_text() == "NAV"
    next_meeting = page.locator("#next-meeting").inner_text()
    assert str(meeting_day.year) in next_meeting and "Komme i jobb før sommeren" in next_meeting
    assert "90" in page.locator("#retention-text").inner_text()
    check_page(page, axe_source, artifacts, "coordinator-plan")

    # The measure's page: its status changed, each version with who and what changed.
    page.get_by_role("link", name="Arbeidstrening").click()
    page.get_by_label("Ny status").select_option("completed")
    page.get_by_role("button", name="Lagre statusen").click()
    assert "versjon 2" in page.get_by_role("status").first.inner_text()
    versions = page.locator("#versions tbody tr").all_inner_texts()
    assert len(versions) == 2 and "pågår → fullført" in versions[0]
    assert "coordinator" in versions[0] and "Opprettet" in versions[1]
    check_page(page, axe_source, artifacts, "coordinator-plan-entry")
    page.get_by_role("link", name="Familiens plan").click()

    page.get_by_role("link", name="Hva hver i teamet ser").click()
    school = page.locator("#overview-school").inner_text()
    nav = page.locator("#overview-nav").inner_text()
    assert "Trives på skolen" in school and "Komme i jobb før sommeren" in school
    assert "Komme i jobb før sommeren" in nav and "Trives på skolen" not in nav
    assert child in page.locator("#overview-nav ul.withheld").inner_text()
    assert "Arbeidstrening" in nav and "fullført" in nav  # title, dates, status: whole team
    check_page(page, axe_source, artifacts, "coordinator-plan-overviews")

    page.get_by_role("link", name="Familiens plan").click()
    copy = page.locator("#family-copy")
    copy.get_by_label("Norsk bokmål").check()
    copy.get_by_role("button", name="Gi familien eksemplaret").click()
    assert page.locator("h1").inner_text() == "Familiens plan"
    text = page.locator("body").inner_text()
    assert text.index("Våre mål") < text.index("Hvem gjør hva") < text.index("Neste møte")
    assert "Komme i jobb før sommeren" in text and "Arbeidstrening" in text
    check_page(page, axe_source, artifacts, "family-copy-nb")
    given = [
        e
        for e in gw.log_entries()
        if e.event_type is EntryType.DISCLOSURE and e.recipient == "family"
    ]
    assert len(given) == 3 and {e.purpose for e in given} == {"family_copy"}
