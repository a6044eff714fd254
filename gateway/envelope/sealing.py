"""Sealing on the gateway's side: encrypt a PlanUpdate or WithdrawalNotice for one recipient
agency and sign it, giving a helhet.envelope/1 (the format is recipient.envelope's).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
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

_KEM_JSON = json.dumps(KEM).encode("ascii")
_SCHEMA_JSON = json.dumps(ENVELOPE_SCHEMA).encode("ascii")

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


@dataclass(frozen=True)
class Sealed:
    """One sealed message: the envelope, the bytes put on Kafka (its canonical JSON) and their
    SHA-256 (what the log records), all from one serialisation."""

    envelope: dict[str, Any]
    data: bytes
    sha256: str


@functools.lru_cache(maxsize=64)
def _created_at_text(when: dt.datetime) -> str:
    return format_created_at(when)


_signing_key_ids: dict[int, tuple[Ed25519PrivateKey, str]] = {}


def _signing_key_id(signing_key: Ed25519PrivateKey) -> str:
    """key_id of the signing key's public half, computed once per key object (the entry holds
    the object, so its id cannot be reused while the entry exists)."""
    known = _signing_key_ids.get(id(signing_key))
    if known is not None and known[0] is signing_key:
        return known[1]
    kid = key_id(signing_key.public_key())
    if len(_signing_key_ids) >= 16:
        _signing_key_ids.clear()
    _signing_key_ids[id(signing_key)] = (signing_key, kid)
    return kid


def _json_string(name: str, value: str) -> bytes:
    """A JSON string as RFC 8785 writes it (json.dumps escapes exactly as JCS for strings)."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidPayload(f"{name} cannot be canonicalised: {exc}") from exc


def _object(members: list[tuple[bytes, bytes]]) -> bytes:
    """A JSON object from (encoded key, encoded value) pairs already in RFC 8785 key order."""
    return b"{" + b",".join(key + b":" + value for key, value in members) + b"}"


def seal_message(
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
) -> Sealed:
    """Encrypt a PlanUpdate or WithdrawalNotice for `recipient` and sign it: a helhet.envelope/1
    with its published bytes and their SHA-256.

    The payload is canonicalised once; the envelope's AAD, signature input and published bytes
    are assembled from its fields' encodings (every key is ASCII, so RFC 8785's order is the
    plain sort written out below; tests compare the bytes with canonical_json of the envelope).
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
    created = _created_at_text(created_at)
    sig_key_id = _signing_key_id(signing_key)
    family_json = _json_string("family_id", family_id)
    message_json = _json_string("message_id", message_id)

    data_key = keyring.current(
        municipality=municipality, recipient=recipient, recipient_public_key=recipient_public_key
    )
    nonce_bytes = secrets.token_bytes(NONCE_BYTES)
    nonce = b64encode(nonce_bytes)
    wrapped = b64encode(data_key.wrapped_key)
    enc_head = [
        (b'"kem"', _KEM_JSON),
        (b'"key_id"', b'"' + data_key.key_id.encode("ascii") + b'"'),
        (b'"nonce"', b'"' + nonce.encode("ascii") + b'"'),
        (b'"wrapped_key"', b'"' + wrapped.encode("ascii") + b'"'),
    ]

    def header(enc: bytes, sig: bytes | None) -> bytes:
        members = [
            (b'"created_at"', b'"' + created.encode("ascii") + b'"'),
            (
                b'"disclosure_index"',
                b"null" if disclosure_index is None else b"%d" % disclosure_index,
            ),
            (b'"enc"', enc),
            (b'"family_id"', family_json),
            (b'"message_id"', message_json),
            (b'"municipality"', b'"' + municipality.encode("ascii") + b'"'),
            (b'"recipient"', b'"' + recipient.encode("ascii") + b'"'),
            (b'"schema"', _SCHEMA_JSON),
        ]
        if sig is not None:
            members.append((b'"sig"', sig))
        members.append((b'"sig_key_id"', b'"' + sig_key_id.encode("ascii") + b'"'))
        members.append((b'"source"', b'"' + source.encode("ascii") + b'"'))
        return _object(members)

    aad = header(_object(enc_head), None)
    ciphertext = b64encode(AESGCM(data_key.key).encrypt(nonce_bytes, plaintext, aad))
    enc_full = _object([(b'"ciphertext"', b'"' + ciphertext.encode("ascii") + b'"'), *enc_head])
    sig = b64encode(signing_key.sign(header(enc_full, None)))
    data = header(enc_full, b'"' + sig.encode("ascii") + b'"')
    envelope: dict[str, Any] = {
        "schema": ENVELOPE_SCHEMA,
        "message_id": message_id,
        "disclosure_index": disclosure_index,
        "created_at": created,
        "municipality": municipality,
        "source": source,
        "recipient": recipient,
        "family_id": family_id,
        "enc": {
            "kem": KEM,
            "key_id": data_key.key_id,
            "wrapped_key": wrapped,
            "nonce": nonce,
            "ciphertext": ciphertext,
        },
        "sig_key_id": sig_key_id,
        "sig": sig,
    }
    return Sealed(envelope, data, hashlib.sha256(data).hexdigest())


def encode_envelope(envelope: Mapping[str, Any]) -> bytes:
    """The bytes put on Kafka: the canonical JSON of the whole envelope."""
    return canonical_json(envelope)


def envelope_sha256(envelope_bytes: bytes | Mapping[str, Any]) -> str:
    """Lower-case hex SHA-256 of the sealed envelope as published (dicts: canonical JSON)."""
    data = envelope_bytes if isinstance(envelope_bytes, bytes) else encode_envelope(envelope_bytes)
    return hashlib.sha256(data).hexdigest()
