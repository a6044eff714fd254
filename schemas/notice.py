"""A withdrawal notice: tells a recipient that a consent it received data under was withdrawn.

It travels in the same sealed envelope as a PlanUpdate, on the recipient's topic.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.categories import Category
from schemas.identifiers import PersonId

WITHDRAWAL_SCHEMA: Literal["helhet.withdrawal/1"] = "helhet.withdrawal/1"


class WithdrawalNotice(BaseModel):
    """Consent `consent_id` (now at `version`) no longer permits these categories."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["helhet.withdrawal/1"] = Field(default=WITHDRAWAL_SCHEMA, alias="schema")
    notice_id: Annotated[str, Field(min_length=1, max_length=200)]
    consent_id: Annotated[str, Field(min_length=1, max_length=200)]
    version: int
    subject: PersonId
    categories: list[Category]
    withdrawn_at: AwareDatetime
    instruction: str = (
        "Data received under this consent may no longer be used for the family plan; "
        "delete or restrict it according to your own retention rules."
    )
