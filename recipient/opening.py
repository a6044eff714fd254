"""Opening envelopes on the agency's side: verify the gateway's signature first, then check
the addressee, unwrap the data key (HPKE) and decrypt (AES-256-GCM). Nothing of the server.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from recipient.envelope import (
    CREATED_AT,
    DATA_KEY_BYTES,
    ENC_FIELDS,
    ENVELOPE_FIELDS,
    ENVELOPE_SCHEMA,
    HPKE_SUITE,
    KEM,
    WRAPPED_KEY_BYTES,
    PayloadKind,
    aad_input,
    b64decode,
    hpke_info,
    key_id,
    parse_json,
    parse_payload,
    signature_input,
)
from recipient.errors import (
    BadSignature,
    DecryptionFailed,
    MalformedEnvelope,
    UnknownSigningKey,
    WrongRecipient,
)
from schemas.canonical import CanonicalizationError
from schemas.notice import WithdrawalNotice
from schemas.plan import PlanUpdate


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
    kind: PayloadKind
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


def _trusted_keys(
    keys: Ed25519PublicKey | Iterable[Ed25519PublicKey],
) -> dict[str, Ed25519PublicKey]:
    if isinstance(keys, Ed25519PublicKey):
        keys = [keys]
    return {key_id(key): key for key in keys}


def _string(envelope: Mapping[str, Any], field: str) -> str:
    value = envelope.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedEnvelope(f"{field} must be a non-empty string")
    return value


class EnvelopeOpener:
    """Opens envelopes for a recipient, trusting the given gateway signing keys.

    Give the recipient's private key, or several (the current one first): after a rotation
    of the agency's key, envelopes sealed for the old key still open with it.
    """

    def __init__(
        self,
        recipient_private_key: X25519PrivateKey | Sequence[X25519PrivateKey],
        gateway_public_keys: Ed25519PublicKey | Iterable[Ed25519PublicKey],
        *,
        expected_recipient: str | None = None,
        expected_municipality: str | None = None,
        cache: DataKeyCache | None = None,
    ) -> None:
        if isinstance(recipient_private_key, X25519PrivateKey):
            recipient_private_key = [recipient_private_key]
        self.private_keys = list(recipient_private_key)
        if not self.private_keys:
            raise ValueError("at least one recipient private key is needed")
        self.private_key = self.private_keys[0]
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
        kind, model = parse_payload(payload)
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
        if not isinstance(created, str) or not CREATED_AT.fullmatch(created):
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
        info = hpke_info(env["municipality"], env["recipient"], enc["key_id"])
        for private_key in self.private_keys:
            slot = (private_key.public_key().public_bytes_raw(), enc["key_id"], wrapped)
            key = self.cache.get(slot)
            if key is not None:
                return key
            try:
                key = HPKE_SUITE.decrypt(wrapped, private_key, info=info)
            except (InvalidTag, ValueError):
                continue  # sealed for another of the recipient's keys (or for someone else)
            if len(key) != DATA_KEY_BYTES:
                raise DecryptionFailed("the unwrapped data key is not 32 bytes")
            self.cache.put(slot, key)
            return key
        raise DecryptionFailed(
            "the data key does not unwrap with this private key (wrong recipient key?)"
            if len(self.private_keys) == 1
            else f"the data key unwraps with none of the {len(self.private_keys)} private keys"
        )


def open_envelope(
    envelope: bytes | str | Mapping[str, Any],
    *,
    recipient_private_key: X25519PrivateKey | Sequence[X25519PrivateKey],
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
