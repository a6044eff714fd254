"""An independent decoder written from docs/integration.md §12 step by step, with only
`cryptography` primitives, json, base64, hashlib and rfc8785 — never the project's own code.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

ENVELOPE_MEMBERS = {
    "schema", "message_id", "disclosure_index", "created_at", "municipality", "source",
    "recipient", "family_id", "enc", "sig_key_id", "sig",
}  # fmt: skip
ENC_MEMBERS = {"kem", "key_id", "wrapped_key", "nonce", "ciphertext"}


class Refused(Exception):
    """The independent decoder refuses a record; `step` is the recipe step that refused it."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"step {step}: {reason}")
        self.step = step


# --- §4 canonical JSON, §8 key ids, §9 JWK ----------------------------------------------------


def canonical(obj: Any) -> bytes:
    return rfc8785.dumps(obj)


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def signing_key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes_raw()
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()[:8]).decode().rstrip("=")


# --- §5 HPKE base mode, written out from RFC 9180 as the document gives it -------------------

KEM_SUITE = b"KEM" + (0x0020).to_bytes(2, "big")
HPKE_SUITE = (
    b"HPKE"
    + (0x0020).to_bytes(2, "big")
    + (0x0001).to_bytes(2, "big")
    + (0x0002).to_bytes(2, "big")
)


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    mac = hmac.HMAC(salt, hashes.SHA256())
    mac.update(ikm)
    return mac.finalize()


def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled_info = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    return HKDFExpand(hashes.SHA256(), length, labeled_info).derive(prk)


def hpke_open_base(wrapped: bytes, private_key: X25519PrivateKey, info: bytes) -> bytes:
    enc, ct = wrapped[:32], wrapped[32:]
    dh = private_key.exchange(X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + private_key.public_key().public_bytes_raw()
    eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared_secret = labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", kem_context, 32)
    psk_id_hash = labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(HPKE_SUITE, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(HPKE_SUITE, shared_secret, b"secret", b"")
    key = labeled_expand(HPKE_SUITE, secret, b"key", context, 32)
    base_nonce = labeled_expand(HPKE_SUITE, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(base_nonce, ct, b"")


# --- §12 the recipe -----------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("duplicate member")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def decode(
    key: bytes | None,
    value: bytes,
    private_key: X25519PrivateKey,
    trusted: list[Ed25519PublicKey],
    agency: str,
    municipality: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """docs/integration.md §12, steps 1-9. Returns (envelope, payload)."""
    # 1. Parse.
    try:
        envelope = json.loads(
            value.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except ValueError as exc:
        raise Refused(1, f"not JSON: {exc}") from exc
    if not isinstance(envelope, dict):
        raise Refused(1, "not an object")
    if not isinstance(envelope.get("sig"), str) or not isinstance(envelope.get("sig_key_id"), str):
        raise Refused(1, "sig / sig_key_id missing")
    # 2. Pick the signing key by its key id.
    by_id = {signing_key_id(k): k for k in trusted}
    signing_key = by_id.get(envelope["sig_key_id"])
    if signing_key is None:
        raise Refused(2, "unknown sig_key_id")
    # 3. Verify the signature over the canonical envelope without `sig`.
    signature = b64(envelope["sig"])
    signed = canonical({k: v for k, v in envelope.items() if k != "sig"})
    try:
        signing_key.verify(signature, signed)
    except InvalidSignature as exc:
        raise Refused(3, "bad signature") from exc
    # 4. Structure.
    enc = envelope.get("enc")
    if set(envelope) != ENVELOPE_MEMBERS or not isinstance(enc, dict) or set(enc) != ENC_MEMBERS:
        raise Refused(4, "members")
    if envelope["schema"] != "helhet.envelope/1" or enc["kem"] != "X25519-HKDF-SHA256-AES256GCM":
        raise Refused(4, "schema or kem")
    # 5. Addressing.
    if envelope["recipient"] != agency or envelope["municipality"] != municipality:
        raise Refused(5, "not for us")
    if key != envelope["family_id"].encode("utf-8"):
        raise Refused(5, "record key is not family_id")
    # 6. Unwrap the data key (HPKE base mode, info string of §5).
    wrapped = b64(enc["wrapped_key"])
    assert len(wrapped) == 80
    info = (
        "helhet.envelope/1 data-key "
        + envelope["municipality"]
        + " "
        + envelope["recipient"]
        + " "
        + enc["key_id"]
    ).encode("ascii")
    try:
        data_key = hpke_open_base(wrapped, private_key, info)
    except InvalidTag as exc:
        raise Refused(6, "data key does not unwrap") from exc
    # The same with the library's RFC 9180 implementation (the "with an HPKE library" path).
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    assert suite.decrypt(wrapped, private_key, info=info) == data_key
    if len(data_key) != 32:
        raise Refused(6, "data key is not 32 bytes")
    # 7. AAD: the envelope without `sig`, its `enc` without `ciphertext`.
    header = copy.deepcopy(envelope)
    del header["sig"]
    del header["enc"]["ciphertext"]
    aad = canonical(header)
    # 8. Decrypt.
    nonce = b64(enc["nonce"])
    assert len(nonce) == 12
    try:
        plaintext = AESGCM(data_key).decrypt(nonce, b64(enc["ciphertext"]), aad)
    except InvalidTag as exc:
        raise Refused(8, "AES-GCM tag") from exc
    # 9. Parse the payload (canonical JSON of an object) and dispatch on its schema.
    payload = json.loads(plaintext.decode("utf-8"))
    assert canonical(payload) == plaintext
    if payload.get("schema") not in ("helhet.plan-update/1", "helhet.withdrawal/1"):
        raise Refused(9, "unknown payload schema")
    return envelope, payload
