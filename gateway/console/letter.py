"""A person's access report (innsyn, GDPR art. 15) as the console and the letter to the citizen
show it: the log's subject report with each basis spelled out (the consent as recorded, or the
statute), rendered in nb, da or en. `helhet audit report` prints the same letter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from audit.query import ReportLine, SubjectReport, subject_report
from consent import store
from consent.errors import ConsentError
from consent.models import ConsentRecord, StatutoryBasis
from gateway.console.i18n import Formatter
from gateway.console.templating import render, stylesheet

NOTICE_PURPOSE = "consent_withdrawal_notice"


@dataclass(frozen=True)
class Basis:
    """Why a line happened, in terms a reader can follow."""

    kind: str  # consent | statute | none
    consent: ConsentRecord | None = None
    statute: StatutoryBasis | None = None
    reference: str = ""


@dataclass
class AccessReport:
    """Everything the log holds about one person, with the bases resolved."""

    person: str
    report: SubjectReport
    municipality: str
    jurisdiction: str
    generated_at: dt.datetime
    names: Mapping[str, str]
    bases: dict[str, Basis] = field(default_factory=dict)

    def agency(self, code: str | None, fmt: Formatter) -> str:
        """The name the instance gives an agency, else the kind of agency in the reader's words."""
        if not code:
            return ""
        name = self.names.get(code)
        return name if name and name != code else fmt.word("agency", code)

    def basis(self, line: ReportLine) -> Basis:
        return self.bases.get(line.basis or "", Basis("none"))

    @property
    def recipients(self) -> list[str]:
        """Agency codes that received data (notices included), in order of first receipt."""
        seen: dict[str, None] = {}
        for line in self.report.disclosures:
            if line.recipient:
                seen.setdefault(line.recipient, None)
        return list(seen)

    @property
    def shared(self) -> list[ReportLine]:
        return [line for line in self.report.disclosures if line.purpose != NOTICE_PURPOSE]

    @property
    def notices(self) -> list[ReportLine]:
        return [line for line in self.report.disclosures if line.purpose == NOTICE_PURPOSE]


def _resolve_bases(
    conn: sa.Connection, lines: Iterable[ReportLine], statutes: Iterable[StatutoryBasis]
) -> dict[str, Basis]:
    by_id = {s.id: s for s in statutes}
    bases: dict[str, Basis] = {}
    for line in lines:
        key = line.basis
        if not key or key in bases:
            continue
        if key.startswith("statute:"):
            statute = by_id.get(key.removeprefix("statute:"))
            bases[key] = Basis("statute", statute=statute, reference=key)
        elif key.startswith("consent:"):
            consent_id, _, version = key.removeprefix("consent:").partition("@")
            try:
                record = store.get(conn, consent_id, int(version) if version.isdigit() else None)
            except ConsentError:
                record = None
            bases[key] = Basis("consent", consent=record, reference=key)
    return bases


def build_report(
    conn: sa.Connection,
    *,
    person: str,
    pseudonym: str,
    names: Mapping[str, str],
    statutes: Iterable[StatutoryBasis],
    municipality: str,
    jurisdiction: str,
    now: dt.datetime,
) -> AccessReport:
    report = subject_report(conn, pseudonym, names, now=now)
    lines = [*report.disclosures, *report.not_disclosed, *report.consents]
    return AccessReport(
        person=person,
        report=report,
        municipality=municipality,
        jurisdiction=jurisdiction,
        generated_at=now,
        names=names,
        bases=_resolve_bases(conn, lines, statutes),
    )


def render_letter(report: AccessReport, fmt: Formatter, *, standalone: bool) -> str:
    """The letter as an HTML document; `standalone` inlines its stylesheet (for the CLI)."""
    return render(
        "letter.html",
        fmt,
        r=report,
        inline_css=stylesheet("letter.css") if standalone else None,
    )
