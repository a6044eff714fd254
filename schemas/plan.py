"""The unit of exchange: a PlanUpdate (one source record translated) and its PlanItems.

Adapters produce these; routing, consent and minimisation work on them; recipients receive them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator

from schemas.categories import Agency, Category, Sender
from schemas.identifiers import PersonId

PLAN_UPDATE_SCHEMA: Literal["helhet.plan-update/1"] = "helhet.plan-update/1"

NonEmpty = Annotated[str, Field(min_length=1, max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ItemKind(StrEnum):
    GOAL = "goal"
    MEASURE = "measure"
    OBSERVATION = "observation"
    EVENT = "event"
    DECISION = "decision"
    CONTACT = "contact"
    EVALUATION = "evaluation"


class ItemStatus(StrEnum):
    PROPOSED = "proposed"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RECORDED = "recorded"


class Period(_Model):
    """A period of dates; start inclusive, end exclusive; either may be open."""

    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("period end is before its start")
        return self


class Code(_Model):
    system: ShortText
    code: ShortText
    display: Annotated[str, Field(max_length=500)] | None = None


class LegalBasis(_Model):
    law: ShortText
    chapter: Annotated[str, Field(max_length=20)] | None = None
    section: Annotated[str, Field(max_length=20)] | None = None
    paragraph: Annotated[str, Field(max_length=20)] | None = None
    letter: Annotated[str, Field(max_length=20)] | None = None


class Responsible(_Model):
    agency: Agency
    unit: ShortText | None = None
    name: ShortText | None = None


class PlanItem(_Model):
    """One fact or step in a family plan, about one person, in one category."""

    item_id: ShortText
    subject: PersonId
    kind: ItemKind
    category: Category
    title: ShortText
    description: Annotated[str, Field(max_length=10000)] | None = None
    status: ItemStatus
    period: Period | None = None
    code: Code | None = None
    legal_basis: LegalBasis | None = None
    responsible: Responsible | None = None
    values: dict[str, JsonValue] = Field(default_factory=dict)
    source_ref: Annotated[str, Field(max_length=500)] | None = None


class Source(_Model):
    """Where a PlanUpdate came from: the agency (or the coordinator), its system and the native
    record."""

    agency: Sender
    system: ShortText
    record_type: ShortText
    record_id: ShortText
    received_at: AwareDatetime


class PlanUpdate(_Model):
    """One source record translated into the common schema."""

    schema_: Literal["helhet.plan-update/1"] = Field(default=PLAN_UPDATE_SCHEMA, alias="schema")
    update_id: ShortText
    source: Source
    items: Annotated[list[PlanItem], Field(min_length=1, max_length=1000)]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _unique_item_ids(self) -> PlanUpdate:
        ids = [item.item_id for item in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError("item_id must be unique within a PlanUpdate")
        return self

    @property
    def subjects(self) -> list[str]:
        """The distinct subjects of the items, in order of first appearance."""
        return list(dict.fromkeys(item.subject for item in self.items))

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON form (with the `schema` key, None fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
