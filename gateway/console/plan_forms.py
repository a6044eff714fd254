"""The plan page's forms and readings: a submitted form as the document the plan's services take
(the same as the API's body), their refusals as messages next to the fields in the reader's
language, the plan's entries grouped as people read them, and each version's changes.

No rule of the plan lives here: checking, storing and forwarding are `gateway.plan.changes`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from gateway.console.deps import Form
from gateway.console.i18n import Formatter, field_message
from gateway.errors import PlanClosed, RequestError, StaleVersion
from gateway.plan.models import EntryKind, MeetingStatus, Result, WorkStatus

# Each form's fields, named `<form>-<field>` on the page; the values a form can be given back.
FIELDS: dict[EntryKind, tuple[str, ...]] = {
    EntryKind.GOAL: ("subject", "title", "description", "due", "status"),
    EntryKind.MEASURE: (
        "subject",
        "title",
        "description",
        "agency",
        "unit",
        "name",
        "start",
        "end",
        "due",
        "status",
    ),
    EntryKind.MEETING: ("date", "participants", "evaluated", "status"),
    EntryKind.EVALUATION: ("goal_id", "result", "text", "date", "meeting_id"),
}
LISTS = frozenset({"participants", "evaluated"})
WORK_STATUSES = [s.value for s in WorkStatus]
MEETING_STATUSES = [s.value for s in MeetingStatus]
RESULTS = [r.value for r in Result]


def values_of(kind: EntryKind, form: Form) -> dict[str, Any]:
    """The form's fields as typed, to give the form back with them (lists for checkboxes)."""
    prefix = kind.value
    return {
        name: form.getlist(f"{prefix}-{name}") if name in LISTS else form.get(f"{prefix}-{name}")
        for name in FIELDS[kind]
    }


def document_of(kind: EntryKind, values: dict[str, Any]) -> dict[str, Any]:
    """The body the API would take for this entry; empty fields are left out (so a required
    one is reported missing, an optional one is not given)."""
    given = {k: v for k, v in values.items() if v not in ("", [], None)}
    if kind is EntryKind.MEASURE:
        responsible = {k: given.pop(k) for k in ("agency", "unit", "name") if k in given}
        period = {k: given.pop(k) for k in ("start", "end") if k in given}
        # `responsible` is required: an empty one is reported at its agency.
        given["responsible"] = responsible
        if period:
            given["period"] = period
    if kind is EntryKind.MEETING:
        given.setdefault("participants", [])
    return given


def _field(kind: EntryKind, loc: list[str]) -> str:
    """The page's field name for a location in the document (`/responsible/agency` ->
    `measure-agency`, `/period` -> `measure-end`, `/participants/0` -> `meeting-participants`)."""
    head = loc[0] if loc else ""
    if head == "responsible":
        head = loc[1] if len(loc) > 1 and loc[1] in ("unit", "name") else "agency"
    elif head == "period":
        head = loc[1] if len(loc) > 1 and loc[1] in ("start", "end") else "end"
    if head not in FIELDS[kind]:
        head = "form"
    return f"{kind.value}-{head}"


def validation_errors(kind: EntryKind, exc: ValidationError, fmt: Formatter) -> dict[str, str]:
    """pydantic's errors by the page's field names, in the reader's words."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        name = _field(kind, loc)
        kind_of = str(error.get("type", ""))
        if loc and loc[0] == "period" and kind_of == "value_error":
            message = fmt.gettext("The end comes before the start.")
        elif kind_of in ("enum", "literal_error"):
            message = fmt.gettext("Choose one of the values offered.")
        elif kind_of == "string_too_long":
            message = fmt.gettext("This text is too long.")
        elif loc and loc[0] in LISTS and kind_of == "value_error":
            message = fmt.gettext("A value appears twice.")
        else:
            message = field_message(error, fmt)
        errors.setdefault(name, message)
    return errors


def refusal_errors(kind: EntryKind, exc: RequestError, fmt: Formatter) -> dict[str, str]:
    """A refusal of the plan's rules (a member, an agency of the team, an entry of the plan)
    by the field it names, in the reader's words."""
    if isinstance(exc, PlanClosed):
        return {f"{kind.value}-form": fmt.gettext("The plan is closed: it can no longer change.")}
    loc = [p for p in (exc.pointer or "").split("/") if p]
    name = _field(kind, loc)
    head = loc[0] if loc else ""
    message = {
        "subject": fmt.gettext("Choose a member of the family."),
        "responsible": fmt.gettext("Choose an agency of the family's team."),
        "participants": fmt.gettext("Choose agencies of the family's team."),
        "evaluated": fmt.gettext("Choose goals and measures of this plan."),
        "goal_id": fmt.gettext("Choose a goal of this plan."),
        "meeting_id": fmt.gettext("Choose a meeting of this plan."),
    }.get(head, str(exc))
    return {name: message}


def status_error(exc: RequestError, fmt: Formatter) -> str:
    if isinstance(exc, PlanClosed):
        return fmt.gettext("The plan is closed: it can no longer change.")
    if isinstance(exc, StaleVersion):
        return fmt.gettext(
            "Someone else changed this entry in the meantime. Its latest version is shown "
            "below: check it, then change it again."
        )
    return str(exc)


# --- reading ------------------------------------------------------------------------------------


@dataclass
class Meeting:
    entry: dict[str, Any]
    evaluated: list[dict[str, Any]] = field(default_factory=list)  # goals and measures
    evaluations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PlanReading:
    """The plan as the coordinator reads it: goals with their latest evaluation, measures per
    responsible agency, the next meeting and the others (past ones with what was evaluated)."""

    goals: list[dict[str, Any]]
    latest_evaluation: dict[str, dict[str, Any]]
    measures: dict[str, list[dict[str, Any]]]
    next_meeting: Meeting | None
    upcoming: list[Meeting]
    past: list[Meeting]
    titles: dict[str, str]


def evaluated_on(evaluation: dict[str, Any]) -> str:
    return str(evaluation.get("date") or evaluation["recorded_at"][:10])


def reading(view: dict[str, Any], today: dt.date) -> PlanReading:
    """From the plan's view (`gateway.plan.reading.plan_view`, as GET /v1/plans/{id} answers)."""
    titles = {e["entry_id"]: e["title"] for e in view["goals"] + view["measures"]}
    latest: dict[str, dict[str, Any]] = {}
    for evaluation in view["evaluations"]:
        known = latest.get(evaluation["goal_id"])
        if known is None or evaluated_on(evaluation) >= evaluated_on(known):
            latest[evaluation["goal_id"]] = evaluation
    measures: dict[str, list[dict[str, Any]]] = {}
    for measure in view["measures"]:
        measures.setdefault(measure["responsible"]["agency"], []).append(measure)
    meetings = []
    for entry in sorted(view["meetings"], key=lambda m: m["date"]):
        meeting = Meeting(entry)
        meeting.evaluated = [
            e for e in view["goals"] + view["measures"] if e["entry_id"] in entry["evaluated"]
        ]
        meeting.evaluations = [
            e for e in view["evaluations"] if e.get("meeting_id") == entry["entry_id"]
        ]
        meetings.append(meeting)
    ahead = [
        m for m in meetings if m.entry["status"] == "planned" and m.entry["date"] >= str(today)
    ]
    past = [m for m in meetings if m not in ahead]
    return PlanReading(
        goals=view["goals"],
        latest_evaluation=latest,
        measures=dict(sorted(measures.items())),
        next_meeting=ahead[0] if ahead else None,
        upcoming=ahead[1:],
        past=list(reversed(past)),
        titles=titles,
    )


# --- versions -----------------------------------------------------------------------------------

HIDDEN = frozenset({"entry_id", "kind", "version", "recorded_at", "recorded_by"})


@dataclass
class Version:
    """One version of an entry: who, when, and what it changed from the version before."""

    version: int
    recorded_at: dt.datetime
    recorded_by: str
    changes: list[tuple[str, Any, Any]]  # (field, before, after); before None when created


def versions(history: list[dict[str, Any]]) -> list[Version]:
    """An entry's versions (oldest first, as the API's history answers) with their changes."""
    found = []
    before: dict[str, Any] = {}
    for view in history:
        document = {k: v for k, v in view.items() if k not in HIDDEN}
        keys = [k for k in document if document[k] != before.get(k)] + [
            k for k in before if k not in document
        ]
        found.append(
            Version(
                view["version"],
                dt.datetime.fromisoformat(view["recorded_at"]),
                view["recorded_by"],
                [(k, before.get(k), document.get(k)) for k in keys],
            )
        )
        before = document
    return found
