"""The family and its team: who the plan is about, which agencies work on it, who coordinates.

Routing reads these: a subject -> the families it belongs to -> their team agencies.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from schemas.categories import Agency
from schemas.errors import IdentifierError
from schemas.identifiers import PersonId, parse_person_id
from schemas.plan import Period, ShortText


class MemberRole(StrEnum):
    PARENT = "parent"
    CHILD = "child"
    OTHER = "other"


def _birth_date_optional(schema: dict[str, Any]) -> None:
    """In JSON Schema, `birth_date` may be left out: the identifier's is taken."""
    schema["required"] = [name for name in schema.get("required", []) if name != "birth_date"]


class Member(BaseModel):
    """A member of a family. The birth date is the one the identifier encodes: taken from it
    when none is given, and a stated date that contradicts it is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_birth_date_optional)

    id: PersonId
    role: MemberRole
    birth_date: dt.date = Field(
        description="Taken from the identifier when left out; must agree with it when given"
    )
    guardians: list[PersonId] = Field(default_factory=list, max_length=4)

    @model_validator(mode="before")
    @classmethod
    def _birth_date_from_id(cls, data: object) -> object:
        """No `birth_date` given: the identifier's (where the number tells the century)."""
        if isinstance(data, dict) and data.get("birth_date") is None and "id" in data:
            try:
                born = parse_person_id(data["id"], allow_synthetic=True).birth_date
            except IdentifierError:
                return data  # the id's own validation names the problem
            if born is not None:
                return {**data, "birth_date": born}
        return data

    @field_validator("birth_date")
    @classmethod
    def _agrees_with_id(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        person = info.data.get("id")
        if person is None:  # the id was refused already
            return value
        identifier = parse_person_id(person, allow_synthetic=True)
        if not identifier.agrees_with(value):
            encoded = identifier.birth_date
            raise ValueError(
                f"{value} contradicts the birth date the identifier encodes"
                + (f" ({encoded})" if encoded else "")
                + "; leave birth_date out to take the identifier's"
            )
        return value

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
