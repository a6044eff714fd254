"""The helhet.envelope/1 format both sides share (DESIGN §8, docs/integration.md): its fields,
the byte strings that are encrypted, authenticated and signed, and strict JSON parsing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import ValidationError

from recipient.errors import MalformedEnvelope
from schemas.canonical import canonical_json
from schemas.notice import WITHDRAWAL_SCHEMA, WithdrawalNotice
from schemas.plan import PLAN_UPDATE_SCHEMA, PlanUpdate

ENVELOPE_SCHEMA = "helhet.envelope/1"
KEM = "X25519-HKDF-SHA256-AES256GCM"
HPKE_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
# HPKE single-shot output: enc (32-byte X25519 public key) || AES-256-GCM(data key) (32 + 16).
WRAPPED_KEY_BYTES = 32 + DATA_KEY_BYTES + 16

ENVELOPE_FIELDS = frozenset(
    {
        "schema",
        "message_id",
        "disclosure_index",
        "created_at",
        "municipality",
        "source",
        "recipient",
        "family_id",
        "enc",
        "sig_key_id",
        "sig",
    }
)
ENC_FIELDS = frozenset({"kem", "key_id", "wrapped_key", "nonce", "ciphertext"})
PayloadKind = Literal["plan_update", "withdrawal"]
PAYLOAD_KINDS: dict[str, PayloadKind] = {
    PLAN_UPDATE_SCHEMA: "plan_update",
    WITHDRAWAL_SCHEMA: "withdrawal",
}
CREATED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) with padding: the encoding of every binary envelope field."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, field: str) -> bytes:
    """Decode a base64 envelope field; MalformedEnvelope names the field if it is not base64."""
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{field} must be a base64 string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MalformedEnvelope(f"{field} is not valid base64") from exc


def key_id(public: Ed25519PublicKey | X25519PublicKey) -> str:
    """A short, stable identifier of a public key (base64url of its first 8 SHA-256 bytes)."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public.public_bytes_raw())
    return base64.urlsafe_b64encode(digest.finalize()[:8]).decode().rstrip("=")


def hpke_info(municipality: str, recipient: str, data_key_id: str) -> bytes:
    """The HPKE `info` binding a wrapped data key to its instance, recipient and key id."""
    return f"{ENVELOPE_SCHEMA} data-key {municipality} {recipient} {data_key_id}".encode("ascii")


def aad_input(envelope: Mapping[str, Any]) -> bytes:
    """AES-GCM associated data: canonical JSON of the envelope minus `sig` and `enc.ciphertext`."""
    header = {k: v for k, v in envelope.items() if k != "sig"}
    enc = header.get("enc")
    if isinstance(enc, Mapping):
        header["enc"] = {k: v for k, v in enc.items() if k != "ciphertext"}
    return canonical_json(header)


def signature_input(envelope: Mapping[str, Any]) -> bytes:
    """Ed25519 signature input: canonical JSON of the envelope without `sig`."""
    return canonical_json({k: v for k, v in envelope.items() if k != "sig"})


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedEnvelope(f"duplicate JSON member {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedEnvelope(f"{name} is not JSON")


def parse_json(data: bytes | str, what: str = "envelope") -> dict[str, Any]:
    """Strict JSON: UTF-8, an object at the top, no duplicate member names, no NaN/Infinity."""
    try:
        value = json.loads(
            data, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, MalformedEnvelope):
            raise
        raise MalformedEnvelope(f"the {what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedEnvelope(f"the {what} is not a JSON object")
    return value


def parse_payload(
    data: Mapping[str, Any], error: type[Exception] = MalformedEnvelope
) -> tuple[PayloadKind, PlanUpdate | WithdrawalNotice]:
    """The payload's kind and model; `error` (default MalformedEnvelope) if it is neither."""
    schema = data.get("schema")
    kind = PAYLOAD_KINDS.get(schema) if isinstance(schema, str) else None
    if kind is None:
        raise error(f"unknown payload schema {data.get('schema')!r}")
    model_type: type[PlanUpdate | WithdrawalNotice] = (
        PlanUpdate if kind == "plan_update" else WithdrawalNotice
    )
    try:
        # The gateway applied its own policy on synthetic identifiers when it accepted the data.
        model = model_type.model_validate(data, context={"allow_synthetic_ids": True})
    except ValidationError as exc:
        raise error(f"invalid {data['schema']} payload: {exc}") from exc
    return kind, model
