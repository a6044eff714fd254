"""Reading JSON bodies: splitting a body into records, and typed field access by JSON Pointer.

Every getter names the exact pointer of the field it refuses, so the gateway can report it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from adapters.base import NDJSON, local_datetime
from adapters.errors import InvalidRecord, MalformedBody


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One native record of a body: its parsed value, its label, its own bytes."""

    value: Any
    label: str
    base: str  # the JSON Pointer prefix of the record within the body ("" or "/3")
    content: bytes


def _pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(agency: str, data: bytes | str, record: str | None) -> Any:
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise MalformedBody(agency, "UTF-8 text", record=record, detail=str(exc)) from None
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            agency,
            "well-formed JSON",
            record=record,
            detail=f"{exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise MalformedBody(agency, "well-formed JSON", record=record, detail=str(exc)) from None


def split_records(
    agency: str, body: bytes, media: str, *, collection_keys: tuple[str, ...] = ()
) -> Iterator[RawRecord]:
    """The records of a JSON body: one object, an array of objects, a collection, or NDJSON.

    `collection_keys` are paths like "_embedded._entries" (FINT/HAL collections) whose array
    holds the records.
    """
    if media == NDJSON or media.endswith("+ndjson"):
        lines = body.split(b"\n")
        found = False
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            found = True
            label = f"line {number}"
            yield RawRecord(_loads(agency, line, label), label, "", line)
        if not found:
            raise MalformedBody(agency, "at least one JSON record (one per line)")
        return
    value = _loads(agency, body, None)
    if isinstance(value, list):
        if not value:
            raise MalformedBody(agency, "at least one record in the array", pointer="")
        for index, element in enumerate(value):
            yield RawRecord(element, f"record {index}", f"/{index}", _dump(element))
        return
    if isinstance(value, dict):
        for key in collection_keys:
            head, _, tail = key.partition(".")
            inner = value.get(head)
            if isinstance(inner, dict) and tail in inner:
                entries = inner[tail]
                base = f"/{head}/{tail}"
                if not isinstance(entries, list) or not entries:
                    raise InvalidRecord(agency, "a non-empty array of records", pointer=base)
                for index, element in enumerate(entries):
                    yield RawRecord(element, f"record {index}", f"{base}/{index}", _dump(element))
                return
    yield RawRecord(value, "record 0", "", body)


def _dump(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False).encode()


class Node:
    """A JSON value with its pointer; getters refuse wrong types with the pointer named."""

    __slots__ = ("agency", "pointer", "record", "value")

    def __init__(self, agency: str, value: Any, pointer: str, record: str | None) -> None:
        self.agency = agency
        self.value = value
        self.pointer = pointer
        self.record = record

    def at(self, key: str | int) -> str:
        return f"{self.pointer}/{_pointer_token(key)}"

    def invalid(
        self, key: str | int | None, expected: str, detail: str | None = None
    ) -> InvalidRecord:
        pointer = self.pointer if key is None else self.at(key)
        return InvalidRecord(
            self.agency, expected, record=self.record, pointer=pointer or "/", detail=detail
        )

    def _raw(self, key: str | int, required: bool, what: str) -> Any:
        if isinstance(key, int):
            if not isinstance(self.value, list) or key >= len(self.value):
                if required:
                    raise self.invalid(key, what)
                return None
            return self.value[key]
        if not isinstance(self.value, dict):
            raise self.invalid(None, "a JSON object")
        raw = self.value.get(key)
        if raw is None and required:
            raise self.invalid(key, what, "the field is missing")
        return raw

    # --- containers ---

    def obj(self, key: str | int, *, required: bool = True) -> Node | None:
        raw = self._raw(key, required, "an object")
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise self.invalid(key, "an object")
        return Node(self.agency, raw, self.at(key), self.record)

    def req_obj(self, key: str | int) -> Node:
        node = self.obj(key)
        assert node is not None
        return node

    def array(self, key: str, *, required: bool = True, min_items: int = 0) -> list[Node]:
        raw = self._raw(key, required, "an array")
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.invalid(key, "an array")
        if len(raw) < min_items:
            raise self.invalid(key, f"an array with at least {min_items} element(s)")
        base = self.at(key)
        return [Node(self.agency, v, f"{base}/{i}", self.record) for i, v in enumerate(raw)]

    def objects(self, key: str, *, required: bool = True, min_items: int = 0) -> list[Node]:
        nodes = self.array(key, required=required, min_items=min_items)
        for node in nodes:
            if not isinstance(node.value, dict):
                raise InvalidRecord(
                    self.agency, "an object", record=self.record, pointer=node.pointer
                )
        return nodes

    # --- scalars ---

    def string(self, key: str, *, required: bool = True, max_length: int = 10000) -> str | None:
        raw = self._raw(key, required, "a string")
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise self.invalid(key, "a string")
        if required and not raw.strip():
            raise self.invalid(key, "a non-empty string")
        if len(raw) > max_length:
            raise self.invalid(key, f"a string of at most {max_length} characters")
        return raw

    def req_str(self, key: str, *, max_length: int = 10000) -> str:
        value = self.string(key, max_length=max_length)
        assert value is not None
        return value

    def boolean(self, key: str, *, required: bool = True) -> bool | None:
        raw = self._raw(key, required, "true or false")
        if raw is None:
            return None
        if not isinstance(raw, bool):
            raise self.invalid(key, "true or false")
        return raw

    def number(
        self, key: str, *, required: bool = True, minimum: float | None = 0, integer: bool = False
    ) -> float | int | None:
        what = "an integer" if integer else "a number"
        raw = self._raw(key, required, what)
        if raw is None:
            return None
        if isinstance(raw, str) and not integer:
            # Several Norwegian systems send decimals as strings ("12.5").
            try:
                raw = float(raw.replace(",", "."))
            except ValueError:
                raise self.invalid(key, what) from None
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise self.invalid(key, what)
        if integer and not isinstance(raw, int):
            raise self.invalid(key, what)
        if isinstance(raw, float) and not math.isfinite(raw):
            raise self.invalid(key, "a finite number")
        if minimum is not None and raw < minimum:
            raise self.invalid(key, f"{what} of at least {minimum:g}")
        return raw

    def code(self, key: str, table: dict[str, Any], *, required: bool = True) -> str | None:
        value = self.string(key, required=required, max_length=200)
        if value is None:
            return None
        if value not in table:
            raise self.invalid(key, "one of " + ", ".join(sorted(table)), f"got {value!r}")
        return value

    def date(self, key: str, *, required: bool = True) -> dt.date | None:
        value = self.string(key, required=required, max_length=40)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self.invalid(key, "a date YYYY-MM-DD", f"got {value!r}") from None

    def datetime(self, key: str, zone: ZoneInfo, *, required: bool = True) -> dt.datetime | None:
        """An ISO 8601 date-time; without a zone it is local time in `zone`."""
        value = self.string(key, required=required, max_length=60)
        if value is None:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise self.invalid(key, "an ISO 8601 date-time", f"got {value!r}") from None
        return local_datetime(parsed, zone)

    def date_or_datetime(
        self, key: str, zone: ZoneInfo, *, required: bool = True
    ) -> dt.date | None:
        """A date, or the local calendar date of a date-time."""
        value = self.string(key, required=required, max_length=60)
        if value is None:
            return None
        if len(value) == 10:
            return self.date(key)
        parsed = self.datetime(key, zone)
        assert parsed is not None
        return parsed.astimezone(zone).date()


def root(agency: str, record: RawRecord) -> Node:
    if not isinstance(record.value, dict):
        raise InvalidRecord(
            agency, "a JSON object", record=record.label, pointer=record.base or "/"
        )
    return Node(agency, record.value, record.base, record.label)


def check_uuid(node: Node, key: str) -> str:
    """A required string field that must be a UUID (NAV's ids and message ids)."""
    import uuid

    value = node.req_str(key, max_length=100)
    try:
        uuid.UUID(value)
    except ValueError:
        raise node.invalid(key, "a UUID", f"got {value!r}") from None
    return value
