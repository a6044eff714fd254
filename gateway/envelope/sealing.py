"""Sealing on the gateway's side: encrypt a PlanUpdate or WithdrawalNotice for one recipient
agency and sign it, giving a helhet.envelope/1 (the format is recipient.envelope's).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.envelope.keyring import DataKeyRing
from gateway.errors import InvalidPayload
from recipient.envelope import (
    ENVELOPE_SCHEMA,
    KEM,
    NONCE_BYTES,
    b64encode,
    key_id,
    parse_payload,
)
from schemas.canonical import CanonicalizationError, canonical_json
from schemas.notice import WithdrawalNotice
from schemas.plan import PlanUpdate

_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,100}")

Payload = Mapping[str, Any] | PlanUpdate | WithdrawalNotice


def format_created_at(when: dt.datetime) -> str:
    """RFC 3339 in UTC with microseconds and 'Z', e.g. 2026-03-01T09:30:00.000000Z."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidPayload("created_at must be timezone-aware")
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _payload_dict(payload: Payload) -> dict[str, Any]:
    if isinstance(payload, PlanUpdate | WithdrawalNotice):
        return payload.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(payload, Mapping):
        raise InvalidPayload("the payload must be a PlanUpdate or WithdrawalNotice (or its JSON)")
    data = dict(payload)
    parse_payload(data, InvalidPayload)
    return data


def _token(name: str, value: object) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidPayload(f"{name} must be 1-100 characters of A-Z a-z 0-9 _ . -")
    return value


def _check_fields(message_id: str, family_id: str, disclosure_index: int | None) -> None:
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 200:
        raise InvalidPayload("message_id must be a non-empty string of at most 200 characters")
    if not isinstance(family_id, str) or not 0 < len(family_id) <= 200:
        raise InvalidPayload("family_id must be a non-empty string of at most 200 characters")
    if disclosure_index is not None and (
        isinstance(disclosure_index, bool)
        or not isinstance(disclosure_index, int)
        or not 0 <= disclosure_index < 2**53
    ):
        raise InvalidPayload("disclosure_index must be a non-negative integer below 2**53 or None")


def seal(
    plaintext_obj: Payload,
    *,
    message_id: str,
    disclosure_index: int | None,
    created_at: dt.datetime,
    municipality: str,
    source: str,
    recipient: str,
    family_id: str,
    recipient_public_key: X25519PublicKey,
    signing_key: Ed25519PrivateKey,
    keyring: DataKeyRing,
) -> dict[str, Any]:
    """Encrypt a PlanUpdate or WithdrawalNotice for `recipient` and sign it: a helhet.envelope/1.

    The Kafka value is encode_envelope(result); the audit log stores envelope_sha256 of it.
    """
    payload = _payload_dict(plaintext_obj)
    _check_fields(message_id, family_id, disclosure_index)
    _token("municipality", municipality)
    _token("source", source)
    _token("recipient", recipient)
    try:
        plaintext = canonical_json(payload)
    except CanonicalizationError as exc:
        raise InvalidPayload(f"the payload cannot be canonicalised: {exc}") from exc

    data_key = keyring.current(
        municipality=municipality, recipient=recipient, recipient_public_key=recipient_public_key
    )
    nonce = secrets.token_bytes(NONCE_BYTES)
    enc: dict[str, Any] = {
        "kem": KEM,
        "key_id": data_key.key_id,
        "wrapped_key": b64encode(data_key.wrapped_key),
        "nonce": b64encode(nonce),
    }
    envelope: dict[str, Any] = {
        "schema": ENVELOPE_SCHEMA,
        "message_id": message_id,
        "disclosure_index": disclosure_index,
        "created_at": format_created_at(created_at),
        "municipality": municipality,
        "source": source,
        "recipient": recipient,
        "family_id": family_id,
        "enc": enc,
        "sig_key_id": key_id(signing_key.public_key()),
    }
    ciphertext = AESGCM(data_key.key).encrypt(nonce, plaintext, canonical_json(envelope))
    enc["ciphertext"] = b64encode(ciphertext)
    envelope["sig"] = b64encode(signing_key.sign(canonical_json(envelope)))
    return envelope


def encode_envelope(envelope: Mapping[str, Any]) -> bytes:
    """The bytes put on Kafka: the canonical JSON of the whole envelope."""
    return canonical_json(envelope)


def envelope_sha256(envelope_bytes: bytes | Mapping[str, Any]) -> str:
    """Lower-case hex SHA-256 of the sealed envelope as published (dicts: canonical JSON)."""
    data = envelope_bytes if isinstance(envelope_bytes, bytes) else encode_envelope(envelope_bytes)
    return hashlib.sha256(data).hexdigest()
