"""The console's catalogues: every text the templates and pages use is translated into bokmål
and Danish, every vocabulary code in all three languages; dates and numbers follow the locale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from audit.entries import EntryType
from consent.models import EvidenceMethod, Reason
from gateway.api.clients import Role
from gateway.console.i18n import Formatter, catalogue_path, translations
from gateway.console.pages.disclosures import OUTCOMES
from gateway.console.pages.families import ROLES
from gateway.plan import store
from gateway.plan.models import EntryKind, MeetingStatus, Result, WorkStatus
from schemas import Agency, Category, ItemStatus, WithdrawalNotice

CONSOLE = Path(__file__).resolve().parents[3] / "gateway" / "console"
# Reasons the intake, relay and auth seam write besides the engine's.
OTHER_REASONS = ("not_enrolled", "not_in_team", "no_recipient_key", "withdrawal_notice")


def used_messages() -> list[str | tuple[str, str]]:
    """Every gettext/ngettext message in the console's templates and Python code."""
    found: list[str | tuple[str, str]] = []
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(CONSOLE),
        method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"gettext": None, "ngettext": (1, 2), "_": None},
    ):
        found.append(message if isinstance(message, str) else (message[0], message[1]))
    return found


def test_the_extraction_finds_the_pages_texts() -> None:
    messages = used_messages()
    assert "Sign in" in messages and "Verify now" in messages and len(messages) > 200


def catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as po:
        return read_po(po)


def translated(
    catalog: Catalog, message: str | tuple[str, str], context: str | None = None
) -> bool:
    found = catalog.get(message[0] if isinstance(message, tuple) else message, context=context)
    if found is None:
        return False
    strings = found.string if isinstance(found.string, tuple) else (found.string,)
    return all(strings)


@pytest.mark.parametrize("language", ["nb", "da"])
def test_every_text_is_translated(language: str) -> None:
    catalog = catalogue(language)
    missing = [m for m in used_messages() if not translated(catalog, m)]
    assert not missing, missing
    assert translations(language).gettext("Sign in") != "Sign in"


VOCABULARY = {
    "category": [c.value for c in Category],
    "agency": [a.value for a in Agency],
    "agency_kind": [a.value for a in Agency],
    "reason": [r.value for r in Reason] + list(OTHER_REASONS),
    "event_type": [t.value for t in EntryType],
    "outcome": list(OUTCOMES),
    "purpose": ["family_plan", "consent_withdrawal_notice"],
    "role": [r.value for r in Role],
    "member_role": list(ROLES),
    "evidence": [m.value for m in EvidenceMethod],
    "domain": sorted({c.domain for c in Category}),
    "entry_kind": [k.value for k in EntryKind],
    "plan_status": sorted({s.value for s in (*WorkStatus, *MeetingStatus, *ItemStatus)}),
    "plan_state": [store.OPEN, store.CLOSED, store.DELETED],
    "result": [r.value for r in Result],
}


@pytest.mark.parametrize("language", ["nb", "da", "en"])
def test_every_code_has_words_in_every_language(language: str) -> None:
    catalog = catalogue(language)
    missing = [
        f"{context}:{code}"
        for context, codes in VOCABULARY.items()
        for code in codes
        if not translated(catalog, code, context)
    ]
    assert not missing, missing
    assert Formatter(language, "NO").word("reason", "no_consent") != "no_consent"


def test_the_withdrawal_notices_instruction_is_translated() -> None:
    instruction = WithdrawalNotice.model_fields["instruction"].default
    assert Formatter("nb", "NO").gettext(instruction).startswith("Opplysninger mottatt")
    assert Formatter("da", "DK").gettext(instruction).startswith("Oplysninger modtaget")


def test_dates_and_numbers_follow_the_locale_and_the_instances_time_zone() -> None:
    when = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)  # 00:30 on 2 March in Oslo
    assert Formatter("nb", "NO").date(when) == "2. mars 2026"
    assert Formatter("da", "DK").date(when) == "2. marts 2026"
    assert Formatter("en", "NO").date(when) == "2 March 2026"
    assert Formatter("nb", "NO").number(1234567) == "1\xa0234\xa0567"
    assert Formatter("da", "DK").number(1234567) == "1.234.567"
    assert Formatter("en", "NO").number(1234567) == "1,234,567"
