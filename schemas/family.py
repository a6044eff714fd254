"""The family and its team: who the plan is about, which agencies work on it, who coordinates.

Routing reads these: a subject -> the families it belongs to -> their team agencies.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.categories import Agency
from schemas.identifiers import PersonId
from schemas.plan import Period, ShortText


class MemberRole(StrEnum):
    PARENT = "parent"
    CHILD = "child"
    OTHER = "other"


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: PersonId
    role: MemberRole
    birth_date: dt.date
    guardians: list[PersonId] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _not_own_guardian(self) -> Member:
        if self.id in self.guardians:
            raise ValueError("a member cannot be their own guardian")
        if len(set(self.guardians)) != len(self.guardians):
            raise ValueError("guardians must be distinct")
        return self


class Coordinator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: ShortText
    name: ShortText
    contact: ShortText | None = None


class Family(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    family_id: ShortText
    municipality: Annotated[str, Field(pattern=r"^[0-9]{3,4}$")]
    members: Annotated[list[Member], Field(min_length=1, max_length=30)]
    team: Annotated[list[Agency], Field(min_length=1)]
    coordinator: Coordinator
    period: Period | None = None
    next_evaluation: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Family:
        ids = [m.id for m in self.members]
        if len(ids) != len(set(ids)):
            raise ValueError("a person appears twice among the members")
        if len(self.team) != len(set(self.team)):
            raise ValueError("an agency appears twice in the team")
        return self

    def member(self, person: str) -> Member | None:
        return next((m for m in self.members if m.id == person), None)
