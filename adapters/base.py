"""The adapter interface and the helpers every adapter shares.

An adapter turns one body in an agency's native format into PlanUpdates (one per source
record): pure, no I/O, deterministic ids, and all-or-nothing (any refusal raises AdapterError).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from adapters.errors import InvalidIdentifier, InvalidRecord
from schemas import (
    Agency,
    Category,
    Code,
    IdentifierError,
    ItemKind,
    ItemStatus,
    LegalBasis,
    Period,
    PlanItem,
    PlanUpdate,
    Responsible,
    Source,
    parse_person_id,
)

OSLO = ZoneInfo("Europe/Oslo")
COPENHAGEN = ZoneInfo("Europe/Copenhagen")

JSON = "application/json"
NDJSON = "application/x-ndjson"
FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
XML = "application/xml"
TEXT_XML = "text/xml"
PLAN_UPDATE_JSON = "application/vnd.helhet.plan-update+json"

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# Namespace of every id an adapter derives (uuid5): fixed forever, or golden files change.
ID_NAMESPACE = uuid.UUID("5b0f3d2e-7c1a-5e8b-9a51-6f1e2d3c4b5a")


@runtime_checkable
class Adapter(Protocol):
    """Translates one body of an agency's native format into PlanUpdates."""

    agency: Agency
    content_types: tuple[str, ...]
    record_types: tuple[str, ...]  # `source.record_type` of what it translates to

    def translate(
        self, body: bytes, content_type: str, *, received_at: dt.datetime | None = None
    ) -> list[PlanUpdate]: ...


def media_type(content_type: str) -> str:
    """The media type without parameters, lower case ("application/json; charset=utf-8" -> …)."""
    return content_type.split(";", 1)[0].strip().lower()


def resolve_received_at(received_at: dt.datetime | None) -> dt.datetime:
    if received_at is None:
        return dt.datetime.now(dt.UTC)
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at


def derive_id(*parts: object) -> str:
    """A uuid5 over the parts joined by '|' (deterministic ids for updates and items)."""
    return str(uuid.uuid5(ID_NAMESPACE, "|".join(str(p) for p in parts)))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RecordBuilder:
    """Collects the items of one source record and builds its PlanUpdate.

    update_id = uuid5(agency, record type, record id, SHA-256 of the record's bytes): the same
    record sent twice gives the same id; a changed record a new one. item_id = uuid5(agency,
    record type, the native id of the item (or the record id and the item's position), kind):
    stable across versions of a record, so a recipient can update the item in place.
    """

    def __init__(
        self,
        agency: Agency,
        *,
        system: str,
        record_type: str,
        record_id: str,
        record_label: str,
        content: bytes,
        received_at: dt.datetime,
    ) -> None:
        self.agency = agency
        self.system = system
        self.record_type = record_type
        self.record_id = record_id
        self.record_label = record_label
        self.content_digest = digest(content)
        self.received_at = received_at
        self.items: list[PlanItem] = []

    def invalid(
        self, pointer: str | None, expected: str, detail: str | None = None
    ) -> InvalidRecord:
        return InvalidRecord(
            self.agency.value, expected, record=self.record_label, pointer=pointer, detail=detail
        )

    def subject(self, value: object, pointer: str) -> str:
        """Validate a person identifier (fnr, D-number or CPR) found at `pointer`."""
        if not isinstance(value, str) or not value.strip():
            raise InvalidIdentifier(
                self.agency.value,
                "a person identifier (fødselsnummer, D-number or CPR number) as a string",
                record=self.record_label,
                pointer=pointer,
            )
        try:
            return parse_person_id(value).value
        except IdentifierError as exc:
            raise InvalidIdentifier(
                self.agency.value,
                "a valid fødselsnummer, D-number or CPR number",
                record=self.record_label,
                pointer=pointer,
                detail=str(exc),
            ) from None

    def add(
        self,
        *,
        key: str,
        pointer: str,
        subject: str,
        kind: ItemKind,
        category: Category,
        title: str,
        status: ItemStatus,
        description: str | None = None,
        period: tuple[dt.date | None, dt.date | None] | None = None,
        code: tuple[str, str, str | None] | None = None,
        legal_basis: Mapping[str, str | None] | None = None,
        responsible: tuple[str | None, str | None] | None = None,
        values: Mapping[str, Any] | None = None,
        source_ref: str | None = None,
    ) -> PlanItem:
        """Build and keep one PlanItem; a value the schema refuses becomes InvalidRecord."""
        try:
            item = PlanItem(
                item_id=derive_id(self.agency.value, self.record_type, key, subject, kind.value),
                subject=subject,
                kind=kind,
                category=category,
                title=title[:200] if title else title,
                description=description or None,
                status=status,
                period=Period(start=period[0], end=period[1])
                if period and (period[0] or period[1])
                else None,
                code=Code(system=code[0], code=code[1], display=code[2]) if code else None,
                legal_basis=LegalBasis(**{k: v for k, v in legal_basis.items() if v})
                if legal_basis
                else None,
                responsible=Responsible(
                    agency=self.agency, unit=responsible[0] or None, name=responsible[1] or None
                )
                if responsible and (responsible[0] or responsible[1])
                else None,
                values=dict(values or {}),
                source_ref=source_ref,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = "/".join(str(p) for p in first["loc"])
            raise self.invalid(
                pointer, "values the common schema accepts", f"{loc}: {first['msg']}"
            ) from None
        self.items.append(item)
        return item

    def build(self) -> PlanUpdate:
        if not self.items:
            raise self.invalid(None, "at least one entry that translates to a plan item")
        ids = [item.item_id for item in self.items]
        if len(ids) != len(set(ids)):
            raise self.invalid(None, "each native entry only once (duplicate ids in the record)")
        return PlanUpdate(
            update_id=derive_id(
                self.agency.value, self.record_type, self.record_id, self.content_digest
            ),
            source=Source(
                agency=self.agency,
                system=(self.system or "unknown")[:200],
                record_type=self.record_type,
                record_id=self.record_id[:200],
                received_at=self.received_at,
            ),
            items=self.items,
        )


def local_datetime(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A datetime with zone: naive values are read as `zone` (Europe/Oslo or Copenhagen)."""
    return value.replace(tzinfo=zone) if value.tzinfo is None else value
