"""The instance's key files: the gateway's Ed25519 signing key, the recipients' X25519 public
keys (and, when generating, their private halves), the pseudonym key. Private files are written
with mode 0600 and never overwritten silently. Reading an agency's private key and the gateway's
public keys is the agency side's (recipient.keys).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey


def write_private(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write a secret file with mode 0600 (created that way, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def write_public(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not overwrite:
        raise FileExistsError(str(path))
    path.write_bytes(data)


def _private_pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    write_private(path, _private_pem(key))
    write_public(path.with_suffix(".pub.pem"), public_pem(key.public_key()))
    return key


def generate_agency_keypair(private_path: Path, public_path: Path) -> X25519PrivateKey:
    key = X25519PrivateKey.generate()
    write_private(private_path, _private_pem(key))
    write_public(public_path, public_pem(key.public_key()))
    return key


def generate_secret(path: Path, nbytes: int = 32) -> bytes:
    """A random secret (e.g. the pseudonym HMAC key), stored base64-encoded."""
    secret = secrets.token_bytes(nbytes)
    write_private(path, base64.b64encode(secret) + b"\n")
    return secret


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_agency_public_key(path: Path) -> X25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, X25519PublicKey):
        raise ValueError(f"{path} is not an X25519 public key")
    return key


def load_secret(path: Path) -> bytes:
    return base64.b64decode(path.read_bytes().strip(), validate=True)
