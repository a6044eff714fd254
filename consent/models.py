"""The consent package's request and record models: consents, statutory bases, decisions.

Pydantic v2, frozen; the gateway validates request bodies with these directly (`ConsentIn`,
`WithdrawalIn`, `DecisionRequest`) and returns `ConsentRecord` / `DecisionAnswer` as they are.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from consent.rules import TIMEZONES, jurisdiction_of
from schemas import Agency, Category, PersonId, Sender

WILDCARD = "*"
DEFAULT_PURPOSE = "family_plan"

Wildcard = Literal["*"]
AgencyScope = Annotated[list[Agency | Wildcard], Field(min_length=1, max_length=10)]
# Sources may also name the coordinator (the family plan's own entries).
SourceScope = Annotated[list[Sender | Wildcard], Field(min_length=1, max_length=11)]
CategoryScope = Annotated[list[Category | Wildcard], Field(min_length=1, max_length=30)]
Purpose = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
ConsentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
StatuteId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAIVE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+")


def _whole_day(value: Any, subject: Any, *, through: bool) -> Any:
    """A date alone means the whole day in the subject's country (Europe/Oslo or
    Europe/Copenhagen): from its first instant, or (`through`) until the next day begins."""
    if isinstance(value, str) and _NAIVE_TIME.fullmatch(value.strip()):
        raise ValueError(
            "a time needs a time zone (e.g. 2027-06-30T00:00:00+02:00 or …Z); "
            "a date alone (2027-06-30) means that whole day"
        )
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        value = dt.date.fromisoformat(value.strip())
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return value
    try:
        zone = TIMEZONES[jurisdiction_of(subject)]
    except (ValueError, TypeError):  # the subject's own error says what is wrong with it
        digits = subject.replace("-", "") if isinstance(subject, str) else ""
        zone = TIMEZONES["DK" if len(digits) == 10 else "NO"]
    day = value + dt.timedelta(days=1) if through else value
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def _scope(values: list[str], what: str) -> list[str]:
    """A scope is either ["*"] alone or distinct concrete values."""
    if WILDCARD in values and len(values) > 1:
        raise ValueError(f'"*" stands alone: it already means every {what}')
    if len(set(values)) != len(values):
        raise ValueError(f"a {what} appears twice")
    return values


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class EvidenceMethod(StrEnum):
    """How the consent was given: signed form, electronic signature (e.g. BankID/MitID), orally
    (noted in the case file), or imported from another system's FHIR Consent."""

    WRITTEN = "written"
    ELECTRONIC = "electronic"
    ORAL = "oral"
    FHIR = "fhir"


class Evidence(_Model):
    method: EvidenceMethod
    reference: ShortText


class Restriction(_Model):
    """A deny exception: none of these categories go to any of these recipients."""

    recipients: AgencyScope
    categories: CategoryScope

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, v: list[str]) -> list[str]:
        return _scope(v, "recipient")

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: list[str]) -> list[str]:
        return _scope(v, "category")


class _ConsentBody(_Model):
    subject: PersonId
    given_by: Annotated[list[PersonId], Field(min_length=1, max_length=6)]
    sources: SourceScope
    recipients: AgencyScope
    categories: CategoryScope
    purpose: Purpose = DEFAULT_PURPOSE
    valid_until: AwareDatetime | None = None
    evidence: Evidence
    restrictions: Annotated[list[Restriction], Field(max_length=50)] = Field(default_factory=list)

    @field_validator("given_by")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a person appears twice in given_by")
        return v

    @field_validator("sources", "recipients")
    @classmethod
    def _agencies(cls, v: list[str]) -> list[str]:
        return _scope(v, "agency")

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: list[str]) -> list[str]:
        return _scope(v, "category")


class ConsentIn(_ConsentBody):
    """What a coordinator records (ids, version and status are assigned by the registry).

    valid_from defaults to the moment of recording; valid_until (exclusive) to open-ended. Either
    may be a date alone: valid_from 2027-01-01 starts at that day's first instant and valid_until
    2027-06-30 lasts through that day, in the subject's country's time zone.
    """

    valid_from: AwareDatetime | None = None

    @field_validator("valid_from", "valid_until", mode="before")
    @classmethod
    def _dates_are_whole_days(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        through = info.field_name == "valid_until"
        return _whole_day(value, info.data.get("subject"), through=through)

    @model_validator(mode="after")
    def _period(self) -> ConsentIn:
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_until <= self.valid_from
        ):
            raise ValueError("valid_until must be after valid_from")
        return self


class ConsentRecord(_ConsentBody):
    """One version of a recorded consent, as stored (append-only) and as answered."""

    consent_id: ConsentId
    version: Annotated[int, Field(ge=1)]
    valid_from: AwareDatetime
    status: ConsentStatus = ConsentStatus.ACTIVE
    recorded_at: AwareDatetime
    recorded_by: ShortText
    withdrawal_reason: LongText | None = None

    @model_validator(mode="after")
    def _period(self) -> ConsentRecord:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self

    @property
    def basis(self) -> str:
        """The basis string decisions under this version carry: consent:<id>@<version>."""
        return f"consent:{self.consent_id}@{self.version}"

    def audit_fields(self) -> dict[str, object]:
        """What the `consent` audit entry needs (no given_by, no evidence)."""
        return {
            "consent_id": self.consent_id,
            "version": self.version,
            "status": self.status.value,
            "subject": self.subject,
            "sources": [str(s) for s in self.sources],
            "recipients": [str(r) for r in self.recipients],
            "categories": [str(c) for c in self.categories],
            "purpose": self.purpose,
            "basis": self.basis,
        }


class WithdrawalIn(_Model):
    """The body of a withdrawal request."""

    reason: LongText


class StatutoryBasis(_Model):
    """A legal duty or power to disclose without consent (from the municipality config)."""

    id: StatuteId
    law: ShortText
    chapter: Annotated[str, Field(max_length=20)] | None = None
    section: Annotated[str, Field(min_length=1, max_length=40)]
    description: LongText
    sources: SourceScope
    recipients: AgencyScope
    categories: CategoryScope
    purpose: Purpose | Wildcard = WILDCARD

    @field_validator("sources", "recipients")
    @classmethod
    def _agencies(cls, v: list[str]) -> list[str]:
        return _scope(v, "agency")

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: list[str]) -> list[str]:
        return _scope(v, "category")

    @property
    def basis(self) -> str:
        return f"statute:{self.id}"


class Reason(StrEnum):
    """Why a decision came out as it did (DESIGN §6)."""

    PERMITTED_BY_CONSENT = "permitted_by_consent"
    PERMITTED_BY_STATUTE = "permitted_by_statute"
    NO_CONSENT = "no_consent"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    RESTRICTED = "restricted"
    OUT_OF_SCOPE = "out_of_scope"
    GUARDIAN_MISSING = "guardian_missing"
    SUBJECT_MUST_CONSENT = "subject_must_consent"


class Decision(_Model):
    """The answer for one (subject, source, recipient, category, purpose, time).

    basis names what decided: "consent:<id>@<version>" (a permit, or the consent whose
    restriction, withdrawal, period or missing signature denied), "statute:<id>", or None.
    """

    permit: bool
    reason: Reason
    basis: str | None = None
    consent_id: str | None = None
    consent_version: int | None = None
    statute_id: str | None = None


class DecisionRequest(_Model):
    """The body of POST /v1/decisions: one answer per category."""

    subject: PersonId
    source: Sender
    recipient: Agency
    categories: Annotated[list[Category], Field(min_length=1, max_length=30)]
    purpose: Purpose = DEFAULT_PURPOSE
    at: AwareDatetime | None = None


class DecisionAnswer(_Model):
    """One category's answer: the decision with the category it is for."""

    category: Category
    permit: bool
    reason: Reason
    basis: str | None = None

    @classmethod
    def of(cls, category: Category | str, decision: Decision) -> DecisionAnswer:
        return cls(
            category=Category(category),
            permit=decision.permit,
            reason=decision.reason,
            basis=decision.basis,
        )
