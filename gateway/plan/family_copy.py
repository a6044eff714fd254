"""The family's own copy of its plan: a printable page in plain Norwegian or Danish (their goals
first, then who does what by when, then the next meeting), and its record in the log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from audit import log as audit_log
from audit.entries import Entry as LogEntry
from audit.entries import EntryType, Outcome
from gateway.config.settings import Settings
from gateway.intake.services import Services
from gateway.plan.models import EntryKind, Language
from gateway.plan.store import Entry
from schemas import Family, PlanAuthor

RECIPIENT = "family"
PURPOSE = "family_copy"

_MONTHS = {
    Language.NORWEGIAN: "januar februar mars april mai juni juli august september oktober "
    "november desember",
    Language.DANISH: "januar februar marts april maj juni juli august september oktober "
    "november december",
}
_WORDS: dict[Language, dict[str, str]] = {
    Language.NORWEGIAN: {
        "title": "Familiens plan",
        "goals": "Våre mål",
        "no_goals": "Ingen mål er skrevet ned ennå.",
        "measures": "Hvem gjør hva, og når",
        "no_measures": "Ingen tiltak er avtalt ennå.",
        "meeting": "Neste møte",
        "no_meeting": "Neste møte er ikke avtalt ennå.",
        "coordinator": "Koordinatoren deres",
        "printed": "Skrevet ut",
        "by": "innen",
        "from": "fra",
        "to": "til",
        "with": "Med",
        "status": "Status",
        "evaluated": "Sist vurdert",
        "parent": "Forelder",
        "child": "Barn",
        "other": "Familiemedlem",
        "born": "født",
        "proposed": "foreslått",
        "planned": "planlagt",
        "in_progress": "pågår",
        "completed": "fullført",
        "cancelled": "avlyst",
        "held": "holdt",
        "reached": "nådd",
        "partly": "delvis nådd",
        "not_reached": "ikke nådd",
        "nav": "NAV",
        "school": "Skolen",
        "health": "Helsetjenesten",
        "child_welfare": "Barneverntjenesten",
        "housing": "Boligkontoret",
    },
    Language.DANISH: {
        "title": "Familiens plan",
        "goals": "Vores mål",
        "no_goals": "Der er ikke skrevet nogen mål ned endnu.",
        "measures": "Hvem gør hvad, og hvornår",
        "no_measures": "Der er ikke aftalt nogen indsatser endnu.",
        "meeting": "Næste møde",
        "no_meeting": "Næste møde er ikke aftalt endnu.",
        "coordinator": "Jeres koordinator",
        "printed": "Udskrevet",
        "by": "senest",
        "from": "fra",
        "to": "til",
        "with": "Med",
        "status": "Status",
        "evaluated": "Sidst vurderet",
        "parent": "Forælder",
        "child": "Barn",
        "other": "Familiemedlem",
        "born": "født",
        "proposed": "foreslået",
        "planned": "planlagt",
        "in_progress": "i gang",
        "completed": "afsluttet",
        "cancelled": "aflyst",
        "held": "afholdt",
        "reached": "nået",
        "partly": "delvist nået",
        "not_reached": "ikke nået",
        "nav": "Jobcentret",
        "school": "Skolen",
        "health": "Sundhedsvæsenet",
        "child_welfare": "Børne- og familieafdelingen",
        "housing": "Boligkontoret",
    },
}

# The page's one stylesheet, screen and print (the console allows it by its hash).
STYLE = (
    "body{font-family:Georgia,serif;max-width:42em;margin:2em auto;padding:0 1em;"
    "line-height:1.5;color:#111}"
    "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.5em;border-bottom:1px solid #999}"
    "li{margin:.5em 0}.when{color:#333}"
    "@media print{body{margin:0;max-width:none;padding:0;font-size:12pt}"
    "h2{break-after:avoid}li,p{break-inside:avoid}@page{margin:2cm}}"
)


@dataclass(frozen=True)
class FamilyCopy:
    copy_id: str
    language: Language
    html: str
    sha256: str
    log_indexes: list[int]


class _Writer:
    def __init__(self, language: Language, settings: Settings) -> None:
        self.language = language
        self.words = _WORDS[language]
        self.months = _MONTHS[language].split()
        self.settings = settings

    def __call__(self, key: str) -> str:
        return self.words.get(key, key)

    def date(self, value: str | dt.date) -> str:
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return f"{day.day}. {self.months[day.month - 1]} {day.year}"

    def agency(self, agency: str) -> str:
        configured = self.settings.agency_name(agency)
        return configured if configured != agency else self(agency)

    def person(self, family: Family, person: str) -> str:
        member = family.member(person)
        if member is None:
            return ""
        return f"{self(member.role.value)} ({self('born')} {member.birth_date.year})"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render(
    family: Family,
    entries: list[Entry],
    *,
    language: Language,
    settings: Settings,
    members: set[str],
    today: dt.date,
) -> str:
    """The printable page (HTML) for the members in `members`; cancelled entries left out."""
    w = _Writer(language, settings)
    live = [e for e in entries if e.document.get("status") != "cancelled"]
    evaluations: dict[str, Entry] = {}
    for e in entries:
        if e.kind is EntryKind.EVALUATION:
            evaluations[e.document["goal_id"]] = e
    goals = [e for e in live if e.kind is EntryKind.GOAL and e.document["subject"] in members]
    measures = [e for e in live if e.kind is EntryKind.MEASURE and e.document["subject"] in members]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{language.value}"><head><meta charset="utf-8">',
        f"<title>{_e(w('title'))}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(w('title'))}</h1>",
        f"<p>{_e(w('printed'))} {_e(w.date(today))}</p>",
        f"<h2>{_e(w('goals'))}</h2>",
    ]
    if not goals:
        parts.append(f"<p>{_e(w('no_goals'))}</p>")
    else:
        parts.append("<ol>")
        for goal in goals:
            doc = goal.document
            line = f"<strong>{_e(w.person(family, doc['subject']))}:</strong> {_e(doc['title'])}"
            if doc.get("due"):
                line += f' <span class="when">({_e(w("by"))} {_e(w.date(doc["due"]))})</span>'
            if doc.get("description"):
                line += f"<br>{_e(doc['description'])}"
            line += f"<br>{_e(w('status'))}: {_e(w(doc['status']))}"
            evaluation = evaluations.get(goal.entry_id)
            if evaluation is not None:
                ev = evaluation.document
                when = ev.get("date") or evaluation.recorded_at.date().isoformat()
                line += (
                    f"<br>{_e(w('evaluated'))} {_e(w.date(when))}: {_e(w(ev['result']))}"
                    f" – {_e(ev['text'])}"
                )
            parts.append(f"<li>{line}</li>")
        parts.append("</ol>")
    parts.append(f"<h2>{_e(w('measures'))}</h2>")
    if not measures:
        parts.append(f"<p>{_e(w('no_measures'))}</p>")
    else:
        parts.append("<ul>")
        for measure in measures:
            doc = measure.document
            who = w.agency(doc["responsible"]["agency"])
            if doc["responsible"].get("unit"):
                who += f", {doc['responsible']['unit']}"
            line = f"<strong>{_e(who)}:</strong> {_e(doc['title'])}"
            if doc.get("description"):
                line += f"<br>{_e(doc['description'])}"
            line += f'<br><span class="when">{_e(_when(w, doc))}</span>'
            line += f" – {_e(w('status'))}: {_e(w(doc['status']))}"
            parts.append(f"<li>{line}</li>")
        parts.append("</ul>")
    parts.append(f"<h2>{_e(w('meeting'))}</h2>")
    meeting = next_meeting(family, entries, today)
    if meeting is None:
        parts.append(f"<p>{_e(w('no_meeting'))}</p>")
    else:
        day, participants = meeting
        line = f"<p><strong>{_e(w.date(day))}</strong>"
        if participants:
            line += f"<br>{_e(w('with'))}: {_e(', '.join(w.agency(a) for a in participants))}"
        parts.append(line + "</p>")
    coordinator = family.coordinator
    contact = f", {coordinator.contact}" if coordinator.contact else ""
    parts.append(f"<h2>{_e(w('coordinator'))}</h2><p>{_e(coordinator.name + contact)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _when(w: _Writer, doc: dict[str, object]) -> str:
    bits = []
    period = doc.get("period")
    if isinstance(period, dict):
        if period.get("start"):
            bits.append(f"{w('from')} {w.date(str(period['start']))}")
        if period.get("end"):
            bits.append(f"{w('to')} {w.date(str(period['end']))}")
    if doc.get("due"):
        bits.append(f"{w('by')} {w.date(str(doc['due']))}")
    return " ".join(bits)


def next_meeting(
    family: Family, entries: list[Entry], today: dt.date
) -> tuple[dt.date, list[str]] | None:
    """The earliest planned review meeting from today on (else the family's next evaluation)."""
    planned = sorted(
        (
            dt.date.fromisoformat(e.document["date"]),
            list(e.document["participants"]),
        )
        for e in entries
        if e.kind is EntryKind.MEETING
        and e.document["status"] == "planned"
        and dt.date.fromisoformat(e.document["date"]) >= today
    )
    if planned:
        return planned[0]
    if family.next_evaluation is not None and family.next_evaluation >= today:
        return family.next_evaluation, []
    return None


def give(
    services: Services,
    conn: sa.Connection,
    family: Family,
    entries: list[Entry],
    *,
    plan_version: int,
    language: Language | None,
    members: list[str] | None,
    client: str,
    now: dt.datetime,
) -> FamilyCopy:
    """Render the copy and record its giving: one `disclosure` entry per person it is about."""
    settings = services.settings
    chosen = language or (Language.DANISH if settings.jurisdiction == "DK" else Language.NORWEGIAN)
    wanted = set(members) if members is not None else {m.id for m in family.members}
    page = render(
        family,
        entries,
        language=chosen,
        settings=settings,
        members=wanted,
        today=now.astimezone(dt.UTC).date(),
    )
    digest = hashlib.sha256(page.encode()).hexdigest()
    copy_id = uuid.uuid4().hex
    meeting = {"plan.coordination"} if next_meeting(family, entries, now.date()) else set()
    categories: dict[str, set[str]] = {person: set(meeting) for person in wanted}
    for entry in entries:
        subject = entry.document.get("subject")
        if subject in categories and entry.kind is EntryKind.GOAL:
            categories[subject].add("plan.goal")
        elif subject in categories and entry.kind is EntryKind.MEASURE:
            categories[subject].add("plan.measure")
    log_entries = [
        LogEntry(
            event_type=EntryType.DISCLOSURE,
            source=PlanAuthor.COORDINATOR.value,
            recipient=RECIPIENT,
            subject_pseudonym=services.pseudonym(person),
            categories=sorted(categories[person]),
            purpose=PURPOSE,
            message_id=copy_id,
            payload_sha256=digest,
            outcome=Outcome.GIVEN,
            reason=PURPOSE,
            client=client,
            family_id=family.family_id,
            details={
                "record_type": PURPOSE,
                "plan_version": plan_version,
                "language": chosen.value,
            },
        )
        for person in sorted(wanted)
    ]
    indexes = audit_log.append(conn, log_entries, now=now)
    return FamilyCopy(copy_id, chosen, page, digest, indexes)
