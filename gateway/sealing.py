"""The sealed message envelope (DESIGN §8, docs/integration.md): seal for one recipient agency,
open and verify on the agency's side. Signature first, then HPKE unwrap, then AES-256-GCM.

Exceptions (all SealingError, a GatewayError): InvalidPayload (seal refused its input),
MalformedEnvelope, BadSignature (UnknownSigningKey), WrongRecipient, DecryptionFailed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from gateway.canonical import CanonicalizationError, canonical_json
from gateway.errors import GatewayError
from gateway.keys import key_id as public_key_id
from schemas.notice import WITHDRAWAL_SCHEMA, WithdrawalNotice
from schemas.plan import PLAN_UPDATE_SCHEMA, PlanUpdate

ENVELOPE_SCHEMA = "helhet.envelope/1"
KEM = "X25519-HKDF-SHA256-AES256GCM"
HPKE_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
# HPKE single-shot output: enc (32-byte X25519 public key) || AES-256-GCM(data key) (32 + 16).
WRAPPED_KEY_BYTES = 32 + DATA_KEY_BYTES + 16
DEFAULT_ROTATE_AFTER = 3600.0
DEFAULT_MAX_USES = 1 << 24  # far below the 2**32 random-nonce limit of one AES-GCM key

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
PAYLOAD_KINDS: dict[str, Literal["plan_update", "withdrawal"]] = {
    PLAN_UPDATE_SCHEMA: "plan_update",
    WITHDRAWAL_SCHEMA: "withdrawal",
}
_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_CREATED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")

Payload = Mapping[str, Any] | PlanUpdate | WithdrawalNotice


class SealingError(GatewayError):
    """Root of the envelope errors."""


class InvalidPayload(SealingError, ValueError):
    """seal() refused its input: an unknown payload schema, an invalid field, a naive time."""


class MalformedEnvelope(SealingError):
    """Not a helhet.envelope/1 (bad JSON, missing or extra field, bad base64, unknown payload)."""


class BadSignature(SealingError):
    """The gateway's Ed25519 signature does not verify: the envelope was changed or forged."""


class UnknownSigningKey(BadSignature):
    """sig_key_id names no key this receiver trusts."""


class WrongRecipient(SealingError):
    """The envelope is addressed to another agency than the one opening it."""


class DecryptionFailed(SealingError):
    """The data key could not be unwrapped (wrong private key) or the ciphertext is corrupt."""


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) with padding: the encoding of every binary envelope field."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, field: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{field} must be a base64 string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MalformedEnvelope(f"{field} is not valid base64") from exc


def format_created_at(when: dt.datetime) -> str:
    """RFC 3339 in UTC with microseconds and 'Z', e.g. 2026-03-01T09:30:00.000000Z."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidPayload("created_at must be timezone-aware")
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hpke_info(municipality: str, recipient: str, key_id: str) -> bytes:
    """The HPKE `info` binding a wrapped data key to its instance, recipient and key id."""
    return f"{ENVELOPE_SCHEMA} data-key {municipality} {recipient} {key_id}".encode("ascii")


# --- data keys (sending side) ---------------------------------------------------------------


@dataclass(frozen=True)
class DataKey:
    """One AES-256 data key for one recipient public key, and its HPKE-wrapped form."""

    key_id: str
    key: bytes
    wrapped_key: bytes
    created: float
    recipient_public: bytes


class _Slot:
    __slots__ = ("data_key", "uses")

    def __init__(self, data_key: DataKey) -> None:
        self.data_key = data_key
        self.uses = 0


class DataKeyRing:
    """Per (municipality, recipient, recipient public key): a random data key, HPKE-wrapped once.

    A key is replaced once it is `rotate_after` seconds old or has sealed `max_uses` messages;
    a new recipient public key gets a new data key at once. Thread-safe.
    """

    def __init__(
        self,
        rotate_after: float = DEFAULT_ROTATE_AFTER,
        *,
        max_uses: int = DEFAULT_MAX_USES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rotate_after <= 0 or rotate_after > DEFAULT_ROTATE_AFTER:
            raise ValueError("rotate_after must be in (0, 3600] seconds")
        if max_uses < 1:
            raise ValueError("max_uses must be positive")
        self.rotate_after = rotate_after
        self.max_uses = max_uses
        self._clock = clock
        self._slots: dict[tuple[str, str, bytes], _Slot] = {}
        self._lock = threading.Lock()

    def current(
        self, *, municipality: str, recipient: str, recipient_public_key: X25519PublicKey
    ) -> DataKey:
        """The data key to seal the next message to this recipient with (one use counted)."""
        public = recipient_public_key.public_bytes_raw()
        slot_id = (municipality, recipient, public)
        now = self._clock()
        with self._lock:
            slot = self._slots.get(slot_id)
            if (
                slot is None
                or now - slot.data_key.created >= self.rotate_after
                or slot.uses >= self.max_uses
            ):
                slot = _Slot(self._new_key(municipality, recipient, recipient_public_key, now))
                self._slots[slot_id] = slot
            slot.uses += 1
            return slot.data_key

    @staticmethod
    def _new_key(
        municipality: str, recipient: str, public_key: X25519PublicKey, now: float
    ) -> DataKey:
        key = secrets.token_bytes(DATA_KEY_BYTES)
        kid = base64.urlsafe_b64encode(secrets.token_bytes(12)).decode("ascii")
        wrapped = HPKE_SUITE.encrypt(key, public_key, info=hpke_info(municipality, recipient, kid))
        return DataKey(kid, key, wrapped, now, public_key.public_bytes_raw())


# --- seal -----------------------------------------------------------------------------------


def _payload_dict(payload: Payload) -> dict[str, Any]:
    if isinstance(payload, PlanUpdate | WithdrawalNotice):
        return payload.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(payload, Mapping):
        raise InvalidPayload("the payload must be a PlanUpdate or WithdrawalNotice (or its JSON)")
    data = dict(payload)
    _parse_payload(data, InvalidPayload)
    return data


def _parse_payload(
    data: dict[str, Any], error: type[SealingError]
) -> tuple[Literal["plan_update", "withdrawal"], PlanUpdate | WithdrawalNotice]:
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


def _token(name: str, value: object) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidPayload(f"{name} must be 1-100 characters of A-Z a-z 0-9 _ . -")
    return value


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
        "sig_key_id": public_key_id(signing_key.public_key()),
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


# --- signing keys as JWK (GET /v1/keys) -----------------------------------------------------


def signing_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The gateway's signing key as a JWK (RFC 8037 OKP); kid = the envelope's sig_key_id."""
    x = base64.urlsafe_b64encode(public_key.public_bytes_raw()).decode("ascii").rstrip("=")
    return {
        "kid": public_key_id(public_key),
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "use": "sig",
        "alg": "EdDSA",
    }


def signing_jwks(public_keys: Iterable[Ed25519PublicKey]) -> dict[str, list[dict[str, str]]]:
    """The body of GET /v1/keys: {"keys": [jwk, …]}."""
    return {"keys": [signing_jwk(key) for key in public_keys]}


def public_keys_from_jwks(jwks: Mapping[str, Any]) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWK set; a key whose kid does not match its bytes is refused."""
    found: list[Ed25519PublicKey] = []
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise MalformedEnvelope("a JWK set needs a 'keys' list")
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        x = jwk.get("x")
        if not isinstance(x, str):
            raise MalformedEnvelope("an Ed25519 JWK needs 'x'")
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError) as exc:
            raise MalformedEnvelope("an Ed25519 JWK has an invalid 'x'") from exc
        if "kid" in jwk and jwk["kid"] != public_key_id(key):
            raise MalformedEnvelope(f"JWK kid {jwk['kid']!r} does not match its key")
        found.append(key)
    if not found:
        raise MalformedEnvelope("the JWK set holds no Ed25519 key")
    return found


# --- open (receiving side) ------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedMessage:
    """A verified, decrypted envelope: its fields, the payload JSON and the parsed model."""

    envelope: dict[str, Any]
    message_id: str
    disclosure_index: int | None
    created_at: dt.datetime
    municipality: str
    source: str
    recipient: str
    family_id: str
    key_id: str
    sig_key_id: str
    payload: dict[str, Any]
    kind: Literal["plan_update", "withdrawal"]
    model: PlanUpdate | WithdrawalNotice


class DataKeyCache:
    """Unwrapped data keys by (recipient public key, key_id, wrapped_key); bounded LRU."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._keys: OrderedDict[tuple[bytes, str, bytes], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, slot: tuple[bytes, str, bytes]) -> bytes | None:
        with self._lock:
            key = self._keys.get(slot)
            if key is None:
                self.misses += 1
                return None
            self._keys.move_to_end(slot)
            self.hits += 1
            return key

    def put(self, slot: tuple[bytes, str, bytes], key: bytes) -> None:
        with self._lock:
            self._keys[slot] = key
            self._keys.move_to_end(slot)
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)


_DEFAULT_CACHE = DataKeyCache()


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


def _trusted_keys(
    keys: Ed25519PublicKey | Iterable[Ed25519PublicKey],
) -> dict[str, Ed25519PublicKey]:
    if isinstance(keys, Ed25519PublicKey):
        keys = [keys]
    return {public_key_id(key): key for key in keys}


def _string(envelope: Mapping[str, Any], field: str) -> str:
    value = envelope.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedEnvelope(f"{field} must be a non-empty string")
    return value


class EnvelopeOpener:
    """Opens envelopes for one recipient private key, trusting the given gateway signing keys."""

    def __init__(
        self,
        recipient_private_key: X25519PrivateKey,
        gateway_public_keys: Ed25519PublicKey | Iterable[Ed25519PublicKey],
        *,
        expected_recipient: str | None = None,
        expected_municipality: str | None = None,
        cache: DataKeyCache | None = None,
    ) -> None:
        self.private_key = recipient_private_key
        self.public_raw = recipient_private_key.public_key().public_bytes_raw()
        self.trusted = _trusted_keys(gateway_public_keys)
        if not self.trusted:
            raise ValueError("at least one gateway public key is needed")
        self.expected_recipient = expected_recipient
        self.expected_municipality = expected_municipality
        self.cache = cache if cache is not None else DataKeyCache()

    def open(self, envelope: bytes | str | Mapping[str, Any]) -> OpenedMessage:
        """Verify the signature, check the recipient, unwrap the data key, decrypt, parse."""
        env = parse_json(envelope) if isinstance(envelope, bytes | str) else dict(envelope)
        self._verify(env)
        self._check_structure(env)
        recipient = env["recipient"]
        if self.expected_recipient is not None and recipient != self.expected_recipient:
            raise WrongRecipient(
                f"the envelope is for {recipient!r}, not {self.expected_recipient!r}"
            )
        municipality = env["municipality"]
        if self.expected_municipality is not None and municipality != self.expected_municipality:
            raise WrongRecipient(
                f"the envelope is for municipality {municipality!r}, "
                f"not {self.expected_municipality!r}"
            )
        enc = env["enc"]
        data_key = self._data_key(env, enc)
        nonce = b64decode(enc["nonce"], "enc.nonce")
        ciphertext = b64decode(enc["ciphertext"], "enc.ciphertext")
        try:
            plaintext = AESGCM(data_key).decrypt(nonce, ciphertext, aad_input(env))
        except InvalidTag as exc:
            raise DecryptionFailed("the ciphertext does not decrypt (AES-GCM tag)") from exc
        payload = parse_json(plaintext, "payload")
        kind, model = _parse_payload(payload, MalformedEnvelope)
        return OpenedMessage(
            envelope=env,
            message_id=env["message_id"],
            disclosure_index=env["disclosure_index"],
            created_at=dt.datetime.fromisoformat(env["created_at"]),
            municipality=env["municipality"],
            source=env["source"],
            recipient=recipient,
            family_id=env["family_id"],
            key_id=enc["key_id"],
            sig_key_id=env["sig_key_id"],
            payload=payload,
            kind=kind,
            model=model,
        )

    def _verify(self, env: Mapping[str, Any]) -> None:
        sig_key_id = env.get("sig_key_id")
        if not isinstance(sig_key_id, str) or not isinstance(env.get("sig"), str):
            raise MalformedEnvelope("sig and sig_key_id must be strings")
        key = self.trusted.get(sig_key_id)
        if key is None:
            raise UnknownSigningKey(f"sig_key_id {sig_key_id!r} is not a trusted gateway key")
        try:
            signature = base64.b64decode(env["sig"].encode("ascii"), validate=True)
            signed = signature_input(env)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise BadSignature("sig is not valid base64") from exc
        except CanonicalizationError as exc:
            raise MalformedEnvelope(f"the envelope cannot be canonicalised: {exc}") from exc
        try:
            key.verify(signature, signed)
        except InvalidSignature as exc:
            raise BadSignature("the gateway signature does not verify") from exc

    @staticmethod
    def _check_structure(env: Mapping[str, Any]) -> None:
        if set(env) != ENVELOPE_FIELDS:
            raise MalformedEnvelope(
                f"envelope fields differ: missing {sorted(ENVELOPE_FIELDS - set(env))}, "
                f"unexpected {sorted(set(env) - ENVELOPE_FIELDS)}"
            )
        if env["schema"] != ENVELOPE_SCHEMA:
            raise MalformedEnvelope(f"unknown envelope schema {env['schema']!r}")
        for field in ("message_id", "municipality", "source", "recipient", "family_id"):
            _string(env, field)
        index = env["disclosure_index"]
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise MalformedEnvelope("disclosure_index must be an integer or null")
        created = env["created_at"]
        if not isinstance(created, str) or not _CREATED_AT.fullmatch(created):
            raise MalformedEnvelope("created_at must be RFC 3339 UTC ending in 'Z'")
        enc = env["enc"]
        if not isinstance(enc, Mapping) or set(enc) != ENC_FIELDS:
            raise MalformedEnvelope(f"enc must hold exactly {sorted(ENC_FIELDS)}")
        if enc["kem"] != KEM:
            raise MalformedEnvelope(f"unknown enc.kem {enc['kem']!r}")
        _string(enc, "key_id")

    def _data_key(self, env: Mapping[str, Any], enc: Mapping[str, Any]) -> bytes:
        wrapped = b64decode(enc["wrapped_key"], "enc.wrapped_key")
        if len(wrapped) != WRAPPED_KEY_BYTES:
            raise MalformedEnvelope(f"enc.wrapped_key must be {WRAPPED_KEY_BYTES} bytes")
        slot = (self.public_raw, enc["key_id"], wrapped)
        key = self.cache.get(slot)
        if key is not None:
            return key
        info = hpke_info(env["municipality"], env["recipient"], enc["key_id"])
        try:
            key = HPKE_SUITE.decrypt(wrapped, self.private_key, info=info)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed(
                "the data key does not unwrap with this private key (wrong recipient key?)"
            ) from exc
        if len(key) != DATA_KEY_BYTES:
            raise DecryptionFailed("the unwrapped data key is not 32 bytes")
        self.cache.put(slot, key)
        return key


def open_envelope(
    envelope: bytes | str | Mapping[str, Any],
    *,
    recipient_private_key: X25519PrivateKey,
    gateway_public_keys: Ed25519PublicKey | Iterable[Ed25519PublicKey],
    expected_recipient: str | None = None,
    expected_municipality: str | None = None,
    cache: DataKeyCache | None = None,
) -> OpenedMessage:
    """Verify and decrypt one envelope (see EnvelopeOpener.open); data keys cached process-wide."""
    opener = EnvelopeOpener(
        recipient_private_key,
        gateway_public_keys,
        expected_recipient=expected_recipient,
        expected_municipality=expected_municipality,
        cache=cache if cache is not None else _DEFAULT_CACHE,
    )
    return opener.open(envelope)
