"""The gateway's signing keys as a JWK set (RFC 8037 OKP, GET /v1/keys): serve and read them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recipient.envelope import key_id
from recipient.errors import MalformedEnvelope


def signing_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """One signing key as a JWK; kid = the envelope's sig_key_id."""
    x = base64.urlsafe_b64encode(public_key.public_bytes_raw()).decode("ascii").rstrip("=")
    return {
        "kid": key_id(public_key),
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
        if "kid" in jwk and jwk["kid"] != key_id(key):
            raise MalformedEnvelope(f"JWK kid {jwk['kid']!r} does not match its key")
        found.append(key)
    if not found:
        raise MalformedEnvelope("the JWK set holds no Ed25519 key")
    return found
