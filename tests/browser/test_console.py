"""The console in headless Chromium, as each kind of person uses it: the privacy officer
searches, opens an entry, answers an access request and verifies the log; the coordinator
enrols a family and records and withdraws a consent; the operator sees the log's status; the
wrong people are refused. Every main page passes axe-core (no serious or critical violation)
and is kept as a screenshot."""

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


def test_privacy_officer_searches_opens_an_entry_and_answers_an_access_request(
    page: Any, seeded: Seeded, axe_source: str, artifacts: Path
) -> None:
    gw = seeded.gw
    sign_in(page, gw.base_url, gw.tokens["privacy_officer"])
    assert page.url.endswith("/console")
    check_page(page, axe_source, artifacts, "privacy-officer-start")

    page.get_by_role("navigation", name="Hovedmeny").get_by_role(
        "link", name="Utleveringer"
    ).click()
    page.get_by_label("Mottakende virksomhet").select_option("child_welfare")
    page.get_by_label("Type oppføring").select_option("disclosure")
    page.get_by_role("button", name="Søk", exact=True).click()
    assert "q=" in page.url and seeded.child not in page.url
    rows = page.locator("table.entries tbody tr")
    assert rows.count() == 1
    assert "Barneverntjenesten Testby" in rows.first.inner_text()
    check_page(page, axe_source, artifacts, "privacy-officer-disclosures")

    rows.first.get_by_role("link").click()
    assert "barnevernsloven § 13-2" in page.locator("main").inner_text()
    assert page.locator("#proof-status").inner_text().startswith("Bevist")
    check_page(page, axe_source, artifacts, "privacy-officer-entry")

    page.get_by_role("link", name="Innsyn").click()
    page.get_by_label("Fødselsnummer").fill(seeded.child)
    page.get_by_role("button", name="Lag rapporten").click()
    assert seeded.child not in page.url
    pseudonym = gw.services.pseudonym(seeded.child)
    names = {"health": "Helsestasjonen Testby", "child_welfare": "Barneverntjenesten Testby"}
    received = {
        e.recipient
        for e in gw.log_entries()
        if e.event_type is EntryType.DISCLOSURE and e.subject_pseudonym == pseudonym
    }
    listed = page.locator("#recipients li").all_inner_texts()
    assert len(listed) == len(received) == 2
    for recipient in received:
        assert any(text.startswith(names[recipient]) for text in listed), (recipient, listed)
    check_page(page, axe_source, artifacts, "privacy-officer-report")

    page.get_by_role("link", name="på bokmål").click()
    assert page.locator("h1").inner_text() == "Hvem har fått opplysninger om deg"
    letter = page.locator("main").inner_text()
    assert all(name in letter for name in names.values()) and "Datatilsynet" in letter
    check_page(page, axe_source, artifacts, "privacy-officer-letter-nb")
    page.go_back()
    page.get_by_role("link", name="på dansk").click()
    assert page.locator("h1").inner_text() == "Hvem har fået oplysninger om dig"


def test_privacy_officer_verifies_the_log_and_sees_it_finish(
    page: Any, seeded: Seeded, axe_source: str, artifacts: Path
) -> None:
    gw = seeded.gw
    sign_in(page, gw.base_url, gw.tokens["privacy_officer"])
    page.goto(f"{gw.base_url}/console/log")
    size = page.locator("#log-size").inner_text()
    assert int(size.replace("\xa0", "").replace(" ", "")) > 0
    check_page(page, axe_source, artifacts, "log-status")
    page.get_by_role("button", name="Kontroller nå").click()
    # The page polls the run's progress (console.js) and shows the result when it is done.
    result = page.locator("#verify-result")
    result.wait_for()
    assert result.inner_text().startswith("Kontrollert: alle")
    check_page(page, axe_source, artifacts, "log-verified")


def test_coordinator_enrols_records_a_consent_for_a_child_and_withdraws_it(
    page: Any, seeded: Seeded, axe_source: str, artifacts: Path
) -> None:
    gw = seeded.gw
    mother, mother_born = intake.person(36)
    father, father_born = intake.person(39)
    child, child_born = intake.person(8)
    sign_in(page, gw.base_url, gw.tokens["coordinator"])
    check_page(page, axe_source, artifacts, "coordinator-start")
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Familier").click()
    check_page(page, axe_source, artifacts, "coordinator-families")
    page.get_by_role("link", name="Registrer en familie").click()
    for row, (number, born, role) in enumerate(
        [
            (mother, mother_born, "parent"),
            (father, father_born, "parent"),
            (child, child_born, "child"),
        ],
        start=1,
    ):
        page.get_by_label(f"Fødselsnummer, medlem {row}").fill(number)
        page.get_by_label(f"Fødselsdato, medlem {row}").fill(born.isoformat())
        page.get_by_label(f"Rolle, medlem {row}").select_option(role)
        if role == "parent":
            page.locator(f"#member-{row - 1}-guardian").check()
    for agency in ("Skole", "Helsetjenesten"):
        page.get_by_role("group", name=re.compile("Teamet")).get_by_label(agency).check()
    check_page(page, axe_source, artifacts, "coordinator-enrol")
    page.get_by_role("button", name="Registrer familien").click()
    assert "Familien er registrert" in page.locator("main").inner_text()
    family_url = page.url
    check_page(page, axe_source, artifacts, "coordinator-family")

    page.get_by_role("link", name=f"Registrer samtykke ({child})").click()
    given_by = page.get_by_role("group", name=re.compile("Hvem gir samtykket"))
    assert given_by.get_by_label(re.compile(mother)).is_checked()  # both guardians must sign
    assert given_by.get_by_label(re.compile(father)).is_checked()
    assert not given_by.get_by_label(re.compile(child)).is_checked()
    sources = page.get_by_role("group", name=re.compile("Disse virksomhetene kan dele"))
    recipients = page.get_by_role("group", name=re.compile("med disse virksomhetene"))
    sources.get_by_label("Helsetjenesten").uncheck()
    recipients.get_by_label("Skole").uncheck()
    page.get_by_role("group", name=re.compile("disse opplysningene")).get_by_label(
        "Skolefravær og oppmøte"
    ).check()
    page.get_by_label("Referanse (saksnummer, dokument eller notat)").fill("sak 2026/77")
    page.get_by_role("button", name="Vis avgjørelsen").click()
    change = page.locator("#preview tr.changes")
    assert change.count() == 1
    cells = change.first.locator("td").all_inner_texts()
    assert cells[:2] == ["Helsetjenesten", "Skolefravær og oppmøte"]
    assert cells[2].startswith("deles ikke") and cells[3] == "deles"
    check_page(page, axe_source, artifacts, "coordinator-consent-preview")
    page.get_by_role("button", name="Lagre samtykket").click()
    assert "Samtykket er registrert" in page.locator("main").inner_text()
    assert page.url.startswith(family_url)

    # A school record about the child is now on its way to health, waiting in the outbox.
    intake.forward(
        gw.services,
        "school",
        [intake.plan_update("school", child, ["education.attendance"])],
        now=dt.datetime.now(dt.UTC),
    )
    page.get_by_role("link", name=re.compile("^Trekk tilbake")).click()
    waiting = page.locator("#waiting tbody tr")
    assert waiting.count() == 1 and "Helsetjenesten" in waiting.first.inner_text()
    check_page(page, axe_source, artifacts, "coordinator-withdraw")
    page.get_by_label(re.compile("Hvorfor trekkes samtykket tilbake")).fill("familien ba om det")
    page.get_by_role("button", name="Trekk tilbake samtykket").click()
    assert page.locator("#h-done").inner_text() == "Samtykket er trukket tilbake"
    assert page.locator("#consent-status").inner_text().startswith("trukket tilbake")
    assert page.locator("#waiting tbody tr").count() == 1  # the message it stops


def test_operator_sees_the_log_status_and_nothing_else(
    page: Any, seeded: Seeded, axe_source: str, artifacts: Path
) -> None:
    gw = seeded.gw
    sign_in(page, gw.base_url, gw.tokens["operator"])
    menu = page.get_by_role("navigation", name="Hovedmeny")
    assert menu.get_by_role("link").all_inner_texts() == ["Start", "Loggstatus"]
    answer = page.goto(f"{gw.base_url}/console/families")
    assert answer is not None and answer.status == 403


def test_a_coordinator_is_refused_the_privacy_officers_pages(page: Any, seeded: Seeded) -> None:
    gw = seeded.gw
    sign_in(page, gw.base_url, gw.tokens["coordinator"])
    menu = page.get_by_role("navigation", name="Hovedmeny")
    assert "Utleveringer" not in menu.inner_text()
    answer = page.goto(f"{gw.base_url}/console/disclosures")
    assert answer is not None and answer.status == 403
    assert page.locator("h1").inner_text() == "Du har ikke tilgang til denne siden"


def test_an_agency_token_is_refused_the_console(page: Any, seeded: Seeded, artifacts: Path) -> None:
    gw = seeded.gw
    sign_in(page, gw.base_url, gw.tokens["health"])
    assert page.url.endswith("/console/sign-in")
    assert "Nøkler til fagsystemer" in page.get_by_role("alert").inner_text()
    page.screenshot(path=str(artifacts / "sign-in-refused.png"), full_page=True)
    answer = page.goto(f"{gw.base_url}/console")
    assert answer is not None and page.url.startswith(f"{gw.base_url}/console/sign-in")
