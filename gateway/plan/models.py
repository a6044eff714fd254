"""The coordinator's plan entries as the API takes them: goals, measures, review meetings and
evaluations of goals; each kind's document is stored as given, version by version.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas import Agency, ItemStatus, Period, PersonId, Responsible

EntryId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class EntryKind(StrEnum):
    GOAL = "goal"
    MEASURE = "measure"
    MEETING = "meeting"
    EVALUATION = "evaluation"


class WorkStatus(StrEnum):
    """A goal's or a measure's status; completed and cancelled close it."""

    PROPOSED = "proposed"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class Result(StrEnum):
    """How far a goal was reached at an evaluation."""

    REACHED = "reached"
    PARTLY = "partly"
    NOT_REACHED = "not_reached"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class GoalIn(_Entry):
    """A goal in the family's own words: who in the family, what, by when."""

    subject: PersonId
    title: Title
    description: Text | None = None
    due: dt.date | None = None
    status: WorkStatus = WorkStatus.PLANNED


class MeasureIn(_Entry):
    """A measure agreed in the team: what, the responsible agency and unit, when, status.

    The title is what the whole team sees in the overview; the description, unit and contact
    person are the measure's details, for the responsible agency.
    """

    subject: PersonId
    title: Title
    description: Text | None = None
    responsible: Responsible
    period: Period | None = None
    due: dt.date | None = None
    status: WorkStatus = WorkStatus.PLANNED


class MeetingIn(_Entry):
    """A review meeting: when, which agencies take part, which goals and measures it evaluates."""

    date: dt.date
    participants: Annotated[list[Agency], Field(min_length=1, max_length=10)]
    evaluated: Annotated[list[EntryId], Field(max_length=100)] = Field(default_factory=list)
    status: MeetingStatus = MeetingStatus.PLANNED

    @field_validator("participants", "evaluated")
    @classmethod
    def _distinct(cls, value: list[Any]) -> list[Any]:
        if len(set(value)) != len(value):
            raise ValueError("a value appears twice")
        return value


class EvaluationIn(_Entry):
    """An evaluation of a goal: reached, partly or not, with a short text."""

    goal_id: EntryId
    result: Result
    text: Annotated[str, Field(min_length=1, max_length=500)]
    date: dt.date | None = None
    meeting_id: EntryId | None = None


MODELS: dict[EntryKind, type[_Entry]] = {
    EntryKind.GOAL: GoalIn,
    EntryKind.MEASURE: MeasureIn,
    EntryKind.MEETING: MeetingIn,
    EntryKind.EVALUATION: EvaluationIn,
}

# What a plan item's status is for each kind's own status.
ITEM_STATUS: dict[str, ItemStatus] = {
    **{s.value: ItemStatus(s.value) for s in WorkStatus},
    MeetingStatus.HELD.value: ItemStatus.COMPLETED,
}


class CloseIn(BaseModel):
    """POST /v1/plans/{family_id}/close: end the enrolment now."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text


class OverviewRequest(BaseModel):
    """POST /v1/plans/{family_id}/overviews: send the overview now (default: to every member)."""

    model_config = ConfigDict(extra="forbid")

    recipients: Annotated[list[Agency], Field(min_length=1, max_length=10)] | None = None


class Language(StrEnum):
    NORWEGIAN = "nb"
    DANISH = "da"


class FamilyCopyIn(BaseModel):
    """POST /v1/plans/{family_id}/family-copy: the family's own printable plan."""

    model_config = ConfigDict(extra="forbid")

    language: Language | None = None  # default: the instance's jurisdiction
    members: Annotated[list[PersonId], Field(min_length=1, max_length=30)] | None = None
