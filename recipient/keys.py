"""The keys an agency needs: its own X25519 private key (PEM) and the gateway's Ed25519
signing keys (a PEM file, a JWK-set file, or the gateway's GET /v1/keys).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from recipient.envelope import parse_json
from recipient.errors import EnvelopeError, KeyUnavailable
from recipient.jwk import public_keys_from_jwks


def load_agency_private_key(path: Path) -> X25519PrivateKey:
    """The agency's X25519 private key from a PEM (PKCS #8) file."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError(f"{path} is not an X25519 private key")
    return key


def load_signing_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key (the gateway's, or a witness's) from a PEM file."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def fetch_gateway_keys(url: str, *, timeout_s: float = 10.0) -> list[Ed25519PublicKey]:
    """The gateway's signing keys from its GET /v1/keys (a JWK set)."""
    try:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
        response.raise_for_status()
        return public_keys_from_jwks(parse_json(response.content, "JWK set"))
    except (httpx.HTTPError, EnvelopeError) as exc:
        raise KeyUnavailable(f"cannot fetch the gateway keys from {url}: {exc}") from exc


def load_gateway_keys(source: str) -> list[Ed25519PublicKey]:
    """The gateway's signing keys from a PEM file, a JWK-set JSON file or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        return fetch_gateway_keys(source)
    try:
        data = Path(source).read_bytes()
        if data.lstrip().startswith(b"{"):
            return public_keys_from_jwks(parse_json(data, "JWK set"))
        return [load_signing_public_key(Path(source))]
    except (OSError, ValueError, EnvelopeError) as exc:
        raise KeyUnavailable(f"cannot read the gateway keys from {source}: {exc}") from exc
