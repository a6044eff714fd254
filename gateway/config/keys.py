"""The instance's key files: the gateway's Ed25519 signing key, the recipients' X25519 public
keys (and, when generating, their private halves), the pseudonym key. Private files are written
with mode 0600 and never overwritten silently. Reading an agency's private key and the gateway's
public keys is the agency side's (recipient.keys).
"""

from __future__ import annotations

import base64
import hashlib
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


# --- rotation ---------------------------------------------------------------------------------

RETIRED = "retired"


def key_fingerprint(public: Ed25519PublicKey | X25519PublicKey) -> str:
    """A short name for a public key in file names: hex of SHA-256 of its raw bytes, 16 chars."""
    return hashlib.sha256(public.public_bytes_raw()).hexdigest()[:16]


def _replace(path: Path, data: bytes, *, private: bool) -> None:
    """Write `data` to `path` atomically (a crash leaves the old file or the new, never half)."""
    tmp = path.with_name(f".{path.name}.new")
    tmp.unlink(missing_ok=True)
    if private:
        write_private(tmp, data)
    else:
        write_public(tmp, data)
    os.replace(tmp, path)


def retired_signing_keys_dir(signing_key_file: Path) -> Path:
    return signing_key_file.parent / RETIRED


def rotate_signing_key(path: Path) -> tuple[Ed25519PublicKey, Ed25519PrivateKey]:
    """Retire the gateway's signing key (its public half kept in `retired/`, so everything it
    signed still verifies; the private half is destroyed) and put a new one in its place."""
    old = load_signing_key(path).public_key()
    retired = retired_signing_keys_dir(path) / f"gateway-signing-{key_fingerprint(old)}.pub.pem"
    write_public(retired, public_pem(old), overwrite=True)
    new = Ed25519PrivateKey.generate()
    _replace(path, _private_pem(new), private=True)
    _replace(path.with_suffix(".pub.pem"), public_pem(new.public_key()), private=False)
    return old, new


def load_retired_signing_keys(signing_key_file: Path) -> list[Ed25519PublicKey]:
    """The public halves of the keys the gateway signed with before, newest first."""
    directory = retired_signing_keys_dir(signing_key_file)
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("*.pub.pem"), key=lambda p: p.stat().st_mtime, reverse=True)
    found = []
    for path in paths:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key")
        found.append(key)
    return found


def rotate_agency_keypair(public_path: Path, private_dir: Path, agency: str) -> Path:
    """A new X25519 pair for a recipient: the old public key is kept in `retired/` beside the
    current one, the new public key replaces it (the gateway seals for it from the next
    message), and the new private key is written as `<agency>-<fingerprint>.key` (0600) to
    hand to the agency, which keeps its old private key for messages sealed before."""
    if public_path.exists():
        old = load_agency_public_key(public_path)
        retired = public_path.parent / RETIRED / f"{agency}-{key_fingerprint(old)}.pub.pem"
        write_public(retired, public_pem(old), overwrite=True)
    key = X25519PrivateKey.generate()
    private_path = private_dir / f"{agency}-{key_fingerprint(key.public_key())}.key"
    write_private(private_path, _private_pem(key))
    _replace(public_path, public_pem(key.public_key()), private=False)
    return private_path
