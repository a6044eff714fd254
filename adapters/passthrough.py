"""The common schema itself (application/vnd.helhet.plan-update+json), accepted for any agency.

Used by family coordinators for goals and evaluations; validated against the schema, and its
source.agency must be the agency that sends it. received_at is set by the gateway.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError

from adapters._common import check_body
from adapters._json import split_records
from adapters.base import DEFAULT_MAX_BYTES, NDJSON, resolve_received_at
from adapters.errors import AdapterError, InvalidIdentifier, InvalidRecord
from schemas import PlanUpdate


def _pointer(base: str, loc: tuple[int | str, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc if p != "schema_"]
    if loc and loc[0] == "schema_":
        parts.insert(0, "schema")
    return base + "".join("/" + p for p in parts) or "/"


def translate_plan_updates(
    agency: str,
    body: bytes,
    media: str,
    *,
    received_at: dt.datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[PlanUpdate]:
    """One PlanUpdate JSON object, an array of them, or NDJSON (media == application/x-ndjson)."""
    check_body(agency, body, max_bytes)
    when = resolve_received_at(received_at)
    mode = NDJSON if media == NDJSON or _looks_like_ndjson(body) else "application/json"
    updates: list[PlanUpdate] = []
    for raw in split_records(agency, bytes(body), mode):
        try:
            updates.append(_one(agency, raw.value, raw.base, raw.label, when))
        except AdapterError as exc:
            raise exc.with_record(raw.label) from None
    return updates


def _looks_like_ndjson(body: bytes) -> bool:
    """Several JSON values on separate lines (the passthrough takes NDJSON too)."""
    lines = [line for line in bytes(body).split(b"\n") if line.strip()]
    if len(lines) < 2:
        return False
    try:
        json.loads(body)
    except (ValueError, RecursionError) as exc:
        return "Extra data" in str(exc)
    return False


def _one(agency: str, value: Any, base: str, label: str, when: dt.datetime) -> PlanUpdate:
    if not isinstance(value, dict):
        raise InvalidRecord(agency, "a PlanUpdate JSON object", record=label, pointer=base or "/")
    try:
        update = PlanUpdate.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        pointer = _pointer(base, tuple(first["loc"]))
        message = str(first["msg"])
        cls = InvalidIdentifier if first["loc"][-1:] == ("subject",) else InvalidRecord
        raise cls(
            agency,
            "a PlanUpdate valid against helhet.plan-update/1",
            record=label,
            pointer=pointer,
            detail=message,
        ) from None
    if update.source.agency.value != agency:
        raise InvalidRecord(
            agency,
            f"source.agency {agency!r} (an agency submits only as itself)",
            record=label,
            pointer=f"{base}/source/agency",
            detail=f"got {update.source.agency.value!r}",
        )
    source = update.source.model_copy(update={"received_at": when})
    return update.model_copy(update={"source": source})
