"""Signed checkpoints (C2SP tlog-checkpoint as a C2SP signed note, Ed25519) and witness
cosignatures (C2SP tlog-cosignature, cosignature/v1): issuing, parsing, signing and verifying.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit import log, merkle
from audit.encoding import b64
from audit.entries import format_time
from audit.errors import InconsistentCheckpoint, InvalidCheckpoint, InvalidProof
from audit.tables import audit_checkpoints, audit_cosignatures

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"
MAX_SIGNATURES = 32


# --- signed notes (c2sp.org/signed-note) ----------------------------------------------------


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise InvalidCheckpoint(f"key name {name!r} is empty or contains a space or '+'")


def key_id(name: str, public: Ed25519PublicKey, alg: int = ALG_ED25519) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + _raw(public)).digest()[:4]


def vkey(name: str, public: Ed25519PublicKey, alg: int = ALG_ED25519) -> str:
    """A verifier key: <name>+<hex key id>+<base64(type || public key)>."""
    _check_name(name)
    material = b64(bytes([alg]) + _raw(public))
    return f"{name}+{key_id(name, public, alg).hex()}+{material}"


def parse_vkey(text: str) -> tuple[str, Ed25519PublicKey, int]:
    """(name, public key, signature type) of a verifier key; checks its key id."""
    try:
        name, hex_id, material = text.strip().split("+", 2)
        raw = base64.b64decode(material, validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
    except (ValueError, binascii.Error) as exc:
        raise InvalidCheckpoint(f"not a verifier key: {exc}") from exc
    alg = raw[0]
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1) or key_id(name, public, alg).hex() != hex_id:
        raise InvalidCheckpoint("verifier key's id or type does not match its key")
    return name, public, alg


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes  # everything after the key id

    @property
    def line(self) -> str:
        blob = b64(self.key_id + self.signature)
        return f"{EM_DASH} {self.name} {blob}\n"


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """(text, signatures) of a signed note; the text keeps its final newline."""
    if not note.endswith("\n"):
        raise InvalidCheckpoint("a signed note must end with a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise InvalidCheckpoint("a signed note must not contain control characters")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise InvalidCheckpoint("no blank line between the note text and its signatures")
    text, sig_block = note[: cut + 1], note[cut + 2 :]
    signatures: list[NoteSignature] = []
    for line in sig_block.splitlines():
        prefix = EM_DASH + " "
        parts = line[len(prefix) :].split(" ") if line.startswith(prefix) else []
        if len(parts) != 2:
            raise InvalidCheckpoint(f"malformed signature line {line!r}")
        name, blob = parts
        _check_name(name)
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise InvalidCheckpoint(f"signature of {name} is not base64") from exc
        if len(raw) < 5:
            raise InvalidCheckpoint(f"signature of {name} is too short")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    if not signatures:
        raise InvalidCheckpoint("a signed note needs at least one signature")
    if len(signatures) > MAX_SIGNATURES:
        raise InvalidCheckpoint(f"more than {MAX_SIGNATURES} signatures")
    return text, signatures


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """Sign note text (ending in a newline) with an Ed25519 key; return the signed note."""
    _check_name(name)
    if not text.endswith("\n"):
        raise InvalidCheckpoint("note text must end with a newline")
    sig = NoteSignature(name, key_id(name, key.public_key()), key.sign(text.encode()))
    return text + "\n" + sig.line


def add_signature_lines(note: str, lines: list[str]) -> str:
    """Append signature lines (each ending in a newline) to a signed note."""
    split_note(note)
    return note + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def open_note(note: str, name: str, public: Ed25519PublicKey) -> str:
    """The note text, if `note` carries a valid Ed25519 signature by (name, public)."""
    text, signatures = split_note(note)
    kid = key_id(name, public)
    found = False
    for sig in signatures:
        if sig.name == name and sig.key_id == kid:
            try:
                public.verify(sig.signature, text.encode())
            except InvalidSignature as exc:
                raise InvalidCheckpoint(f"the signature by {name} is forged") from exc
            found = True
    if not found:
        raise InvalidCheckpoint(f"the note is not signed by {name} ({kid.hex()})")
    return text


# --- checkpoints (c2sp.org/tlog-checkpoint) -------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64(self.root)}\n"


def parse_checkpoint_text(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise InvalidCheckpoint("a checkpoint is at least three non-empty lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if (
        not size_text.isascii()
        or not size_text.isdigit()
        or (size_text.startswith("0") and size_text != "0")
    ):
        raise InvalidCheckpoint(f"tree size {size_text!r} is not a decimal without leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise InvalidCheckpoint("root hash is not base64") from exc
    if len(root) != merkle.HASH_SIZE:
        raise InvalidCheckpoint("root hash is not 32 bytes")
    return Checkpoint(origin, int(size_text), root)


def sign_checkpoint(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note; the key name is the origin."""
    return sign_note(checkpoint.text, checkpoint.origin, key)


def verify_checkpoint(note: str, public: Ed25519PublicKey, origin: str) -> Checkpoint:
    """Parse a signed checkpoint, requiring a valid signature by the log key named `origin`."""
    checkpoint = parse_checkpoint_text(open_note(note, origin, public))
    if checkpoint.origin != origin:
        raise InvalidCheckpoint(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint


def verify_checkpoint_by_any(
    note: str, keys: Sequence[Ed25519PublicKey], origin: str
) -> Checkpoint:
    """Parse a signed checkpoint signed by one of `keys` (the log's current key and the ones it
    had before a rotation); InvalidCheckpoint with the first key's reason otherwise."""
    first: InvalidCheckpoint | None = None
    for key in keys:
        try:
            return verify_checkpoint(note, key, origin)
        except InvalidCheckpoint as exc:
            first = first or exc
    raise first or InvalidCheckpoint("no key to verify the checkpoint with")


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    checkpoint: Checkpoint
    note: str
    issued_at: str


def latest_checkpoint(conn: sa.Connection) -> StoredCheckpoint | None:
    row = conn.execute(
        sa.select(audit_checkpoints).order_by(audit_checkpoints.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    note = str(row.note)
    return StoredCheckpoint(
        int(row.id), parse_checkpoint_text(split_note(note)[0]), note, str(row.issued_at)
    )


def issue_checkpoint(
    conn: sa.Connection,
    signing_key: Ed25519PrivateKey,
    origin: str,
    now: dt.datetime,
    *,
    previous_keys: Sequence[Ed25519PublicKey] = (),
) -> StoredCheckpoint:
    """Sign and store a checkpoint of the whole log as it is now.

    Refuses (InconsistentCheckpoint) if the latest stored checkpoint is not a prefix of the
    current tree, or was signed neither by this key nor by one of `previous_keys` (the log's
    keys before a rotation): the gateway never signs two inconsistent heads. If the log has not
    grown, returns the latest checkpoint instead of a duplicate.
    """
    size, _ = log.lock_head(conn)
    latest = latest_checkpoint(conn)
    current_root = log.root(conn, size)
    if latest is not None:
        try:
            verify_checkpoint_by_any(
                latest.note, [signing_key.public_key(), *previous_keys], origin
            )
        except InvalidCheckpoint as exc:
            raise InconsistentCheckpoint(
                f"the latest stored checkpoint #{latest.id} does not verify: {exc}"
            ) from exc
        old = latest.checkpoint
        if old.size > size:
            raise InconsistentCheckpoint(
                f"checkpoint #{latest.id} attests {old.size} entries; the log holds only {size}"
            )
        proof = log.consistency_proof(conn, old.size, size)
        try:
            proof.verify(old.root, current_root)
        except InvalidProof as exc:
            raise InconsistentCheckpoint(
                f"the log is not an extension of checkpoint #{latest.id}: {exc}"
            ) from exc
        if old.size == size:
            return latest
    checkpoint = Checkpoint(origin, size, current_root)
    note = sign_checkpoint(checkpoint, signing_key)
    issued = format_time(now)
    new_id = conn.execute(
        audit_checkpoints.insert()
        .values(size=size, root=current_root, note=note, issued_at=issued)
        .returning(audit_checkpoints.c.id)
    ).scalar_one()
    return StoredCheckpoint(int(new_id), checkpoint, note, issued)


def checkpoint_with_cosignatures(conn: sa.Connection, stored: StoredCheckpoint) -> str:
    """The stored checkpoint note with every cosignature line received for it."""
    lines = conn.execute(
        sa.select(audit_cosignatures.c.line)
        .where(audit_cosignatures.c.checkpoint_id == stored.id)
        .order_by(audit_cosignatures.c.witness)
    ).scalars()
    return add_signature_lines(stored.note, [str(line) for line in lines])


def cosigners(conn: sa.Connection, stored: StoredCheckpoint) -> list[tuple[str, dt.datetime]]:
    """(witness name, time it cosigned) for every cosignature received for the checkpoint."""
    rows = conn.execute(
        sa.select(audit_cosignatures.c.witness, audit_cosignatures.c.timestamp)
        .where(audit_cosignatures.c.checkpoint_id == stored.id)
        .order_by(audit_cosignatures.c.witness)
    )
    return [(str(name), dt.datetime.fromtimestamp(int(ts), dt.UTC)) for name, ts in rows]


# --- witness cosignatures (c2sp.org/tlog-cosignature) ---------------------------------------


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(note: str, witness_name: str, witness_key: Ed25519PrivateKey, now: dt.datetime) -> str:
    """A witness's cosignature line (cosignature/v1, Ed25519) for a checkpoint note.

    Only sign after checking the checkpoint's log signature and its consistency with the
    previous checkpoint seen (see `audit.witness`).
    """
    _check_name(witness_name)
    text, _ = split_note(note)
    parse_checkpoint_text(text)
    timestamp = int(now.timestamp())
    signature = witness_key.sign(_cosigned_message(text, timestamp))
    kid = key_id(witness_name, witness_key.public_key(), ALG_COSIGNATURE_V1)
    return NoteSignature(witness_name, kid, struct.pack(">Q", timestamp) + signature).line


def verify_cosignature(note: str, witness_name: str, witness_public: Ed25519PublicKey) -> int:
    """The timestamp of a valid cosignature by the witness on this note (else InvalidCheckpoint)."""
    text, signatures = split_note(note)
    kid = key_id(witness_name, witness_public, ALG_COSIGNATURE_V1)
    for sig in signatures:
        if sig.name != witness_name or sig.key_id != kid:
            continue
        if len(sig.signature) != 8 + 64:
            raise InvalidCheckpoint(f"cosignature by {witness_name} has the wrong length")
        (timestamp,) = struct.unpack(">Q", sig.signature[:8])
        if timestamp >= 1 << 63:
            raise InvalidCheckpoint(f"cosignature by {witness_name} has an impossible time")
        try:
            witness_public.verify(sig.signature[8:], _cosigned_message(text, timestamp))
        except InvalidSignature as exc:
            raise InvalidCheckpoint(f"the cosignature by {witness_name} is forged") from exc
        return int(timestamp)
    raise InvalidCheckpoint(f"the note carries no cosignature by {witness_name}")
