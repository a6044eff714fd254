"""The skeleton shared by the adapters: content type and size checks, record loop, builders.

A failure in any record refuses the whole body (no partial translation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from adapters._json import RawRecord, split_records
from adapters.base import DEFAULT_MAX_BYTES, RecordBuilder, media_type, resolve_received_at
from adapters.errors import AdapterError, BodyTooLarge, UnsupportedContentType
from schemas import Agency, PlanUpdate


def check_body(agency: str, body: bytes, max_bytes: int) -> None:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("body must be bytes")
    if len(body) > max_bytes:
        raise BodyTooLarge(
            agency, f"a body of at most {max_bytes} bytes", detail=f"got {len(body)}"
        )


def check_content_type(agency: str, content_type: str, accepted: tuple[str, ...]) -> str:
    media = media_type(content_type)
    if media not in accepted:
        raise UnsupportedContentType(
            agency, "one of " + ", ".join(accepted), detail=f"got {content_type!r}"
        )
    return media


def translate_json(
    agency: str,
    body: bytes,
    media: str,
    received_at: dt.datetime | None,
    record_fn: Callable[[RawRecord, dt.datetime], PlanUpdate],
    *,
    collection_keys: tuple[str, ...] = (),
) -> list[PlanUpdate]:
    when = resolve_received_at(received_at)
    updates: list[PlanUpdate] = []
    for raw in split_records(agency, bytes(body), media, collection_keys=collection_keys):
        try:
            updates.append(record_fn(raw, when))
        except AdapterError as exc:
            raise exc.with_record(raw.label) from None
    return updates


def record_builder(
    agency: Agency, raw: RawRecord, system: str, record_type: str, record_id: str, when: dt.datetime
) -> RecordBuilder:
    """A RecordBuilder for one JSON record (its label and its own bytes)."""
    return RecordBuilder(
        agency,
        system=system,
        record_type=record_type,
        record_id=record_id,
        record_label=raw.label,
        content=raw.content,
        received_at=when,
    )


class JsonAdapterBase:
    """Content types, size limit and the record loop; subclasses set `agency` and implement
    `_record` (and may override `_translate` for a media type that is not JSON)."""

    agency: Agency
    content_types: tuple[str, ...] = ()
    collection_keys: tuple[str, ...] = ()

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    @property
    def agency_name(self) -> str:
        return self.agency.value

    def translate(
        self, body: bytes, content_type: str, *, received_at: dt.datetime | None = None
    ) -> list[PlanUpdate]:
        check_body(self.agency_name, body, self.max_bytes)
        media = check_content_type(self.agency_name, content_type, self.content_types)
        return self._translate(body, media, received_at)

    def _translate(
        self, body: bytes, media: str, received_at: dt.datetime | None
    ) -> list[PlanUpdate]:
        return translate_json(
            self.agency_name,
            body,
            media,
            received_at,
            self._record,
            collection_keys=self.collection_keys,
        )

    def _record(self, raw: RawRecord, received_at: dt.datetime) -> PlanUpdate:
        raise NotImplementedError

    def _builder(
        self, raw: RawRecord, system: str, record_type: str, record_id: str, when: dt.datetime
    ) -> RecordBuilder:
        return record_builder(self.agency, raw, system, record_type, record_id, when)
