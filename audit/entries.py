"""Log entries: what one decision that matters records, and its canonical leaf serialization.

A leaf is the entry plus its index and recorded time as RFC 8785 (JCS) canonical JSON; the
Merkle leaf hash is SHA-256(0x00 || leaf).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from audit.errors import InvalidEntry
from audit.merkle import leaf_hash
from schemas.canonical import CanonicalizationError, canonical_json

LEAF_VERSION = 1
_LEAF_VERSION_TEXT = str(LEAF_VERSION)
_MAX_INDEX = 2**53 - 1
# A JSON string as json.dumps(ensure_ascii=False) writes it, which is RFC 8785's escaping
_json_string = json.encoder.encode_basestring
MAX_DETAILS_BYTES = 2048


class EntryType(StrEnum):
    """What an entry records (DESIGN §7)."""

    DISCLOSURE = "disclosure"  # data made available to a recipient
    REFUSAL = "refusal"  # an item withheld from a recipient, with the reason
    WITHHELD = "withheld"  # an outbox message stopped before publishing
    DELIVERY = "delivery"  # the broker acknowledged a message (topic, partition, offset)
    CONSENT = "consent"  # a consent recorded or withdrawn
    ACCESS = "access"  # a person read the log


class Outcome(StrEnum):
    """The outcome an entry records; each belongs to one event type (docs/audit.md)."""

    QUEUED = "queued"  # disclosure: sealed and waiting for the broker
    GIVEN = "given"  # disclosure: the family's own copy of its plan, handed to it
    REFUSED = "refused"  # refusal
    STOPPED = "stopped"  # withheld
    DELIVERED = "delivered"  # delivery
    RECORDED = "recorded"  # consent
    WITHDRAWN = "withdrawn"  # consent
    READ = "read"  # access
    DENIED = "denied"  # access (a refused request)


Name = Annotated[str, Field(min_length=1, max_length=200)]
Category = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.*:\-]{1,64}$")]
Pseudonym = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Entry(BaseModel):
    """One log entry as the caller supplies it; the log adds the index and recorded time.

    The subject is only ever a pseudonym (`audit.pseudonym.pseudonymise`), never a number.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: EntryType
    source: Name | None = None
    recipient: Name | None = None
    subject_pseudonym: Pseudonym | None = None
    categories: list[Category] = Field(default_factory=list, max_length=64)
    purpose: Name | None = None
    basis: Name | None = None
    message_id: Name | None = None
    payload_sha256: Sha256Hex | None = None
    outcome: Name
    reason: Name | None = None
    client: Name | None = None
    family_id: Name | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("details")
    @classmethod
    def _small_details(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        clash = _reserved_keys(value)
        if clash:
            raise ValueError(f"details must not use the entry's own field names: {clash}")
        try:
            size = len(canonical_json(value))
        except (CanonicalizationError, TypeError, ValueError) as exc:
            raise ValueError(f"details are not canonical JSON: {exc}") from exc
        if size > MAX_DETAILS_BYTES:
            raise ValueError(f"details are {size} bytes; at most {MAX_DETAILS_BYTES}")
        return value


LEAF_KEYS = frozenset({"v", "index", "recorded_at", *Entry.model_fields})


def _reserved_keys(value: object) -> list[str]:
    """Keys anywhere inside `value` that are also top-level leaf keys.

    Forbidding them keeps every top-level '"key":' unique in the canonical leaf, which lets
    verification find a field without parsing (see audit.verify).
    """
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in LEAF_KEYS:
                found.append(key)
            found += _reserved_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            found += _reserved_keys(inner)
    return found


class LogEntry(Entry):
    """An entry as stored: with its index in the log and the time it was recorded (UTC)."""

    index: int = Field(ge=0)
    recorded_at: dt.datetime

    @classmethod
    def from_leaf(cls, leaf: bytes) -> LogEntry:
        """Parse a stored leaf (the bytes the Merkle tree commits to)."""
        doc = json.loads(leaf)
        if not isinstance(doc, dict) or doc.pop("v", None) != LEAF_VERSION:
            raise InvalidEntry("not a version 1 audit leaf")
        return cls.model_validate(doc)

    @property
    def leaf(self) -> bytes:
        return leaf_bytes(self, self.index, self.recorded_at)

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf)


def format_time(when: dt.datetime) -> str:
    """Fixed-width RFC 3339 UTC with microseconds: sorts as text, same in every database."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidEntry("times must carry a time zone")
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def leaf_document(entry: Entry, index: int, recorded_at: dt.datetime | str) -> dict[str, Any]:
    """The leaf as a dict; `recorded_at` may be given already formatted by `format_time`."""
    return {
        "v": LEAF_VERSION,
        "index": index,
        "recorded_at": recorded_at if isinstance(recorded_at, str) else format_time(recorded_at),
        "event_type": entry.event_type.value,
        "source": entry.source,
        "recipient": entry.recipient,
        "subject_pseudonym": entry.subject_pseudonym,
        "categories": list(entry.categories),
        "purpose": entry.purpose,
        "basis": entry.basis,
        "message_id": entry.message_id,
        "payload_sha256": entry.payload_sha256,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "client": entry.client,
        "family_id": entry.family_id,
        "details": entry.details,
    }


def _text(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


def leaf_bytes(entry: Entry, index: int, recorded_at: dt.datetime | str) -> bytes:
    """The canonical leaf: deterministic bytes for (entry, index, time).

    Exactly canonical_json(leaf_document(...)), written out field by field in RFC 8785 key
    order (every key is ASCII, so that is the plain sort below); the tests compare the two. A
    string that cannot be UTF-8 (a lone surrogate) goes through canonical_json for its error.
    """
    recorded = recorded_at if isinstance(recorded_at, str) else format_time(recorded_at)
    if type(index) is not int or not 0 <= index <= _MAX_INDEX:
        return canonical_json(leaf_document(entry, index, recorded))
    details = entry.details
    text = "".join(
        (
            '{"basis":',
            _text(entry.basis),
            ',"categories":',
            categories_json(list(entry.categories)),
            ',"client":',
            _text(entry.client),
            ',"details":',
            canonical_json(details).decode("utf-8") if details else "{}",
            ',"event_type":',
            _json_string(entry.event_type.value),
            ',"family_id":',
            _text(entry.family_id),
            ',"index":',
            str(index),
            ',"message_id":',
            _text(entry.message_id),
            ',"outcome":',
            _json_string(entry.outcome),
            ',"payload_sha256":',
            _text(entry.payload_sha256),
            ',"purpose":',
            _text(entry.purpose),
            ',"reason":',
            _text(entry.reason),
            ',"recipient":',
            _text(entry.recipient),
            ',"recorded_at":',
            _json_string(recorded),
            ',"source":',
            _text(entry.source),
            ',"subject_pseudonym":',
            _text(entry.subject_pseudonym),
            ',"v":',
            _LEAF_VERSION_TEXT,
            "}",
        )
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return canonical_json(leaf_document(entry, index, recorded))


def categories_json(categories: Any) -> str:
    """The categories column: the compact JSON array exactly as the canonical leaf holds it."""
    if not isinstance(categories, list):
        return ""
    if all(type(c) is str for c in categories) and not _NEEDS_ESCAPE.search("".join(categories)):
        # Fast path (every valid category name): strings that JSON would not escape.
        return '["' + '","'.join(categories) + '"]' if categories else "[]"
    return json.dumps(categories, separators=(",", ":"), ensure_ascii=False)


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def make_entry(**fields: Any) -> Entry:
    """Build an Entry, mapping validation errors to InvalidEntry."""
    try:
        return Entry(**fields)
    except ValidationError as exc:
        raise InvalidEntry(str(exc)) from exc
