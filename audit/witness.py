"""Witnessing: co-sign a log checkpoint only if it is consistent with the last one this
witness saw (kept in a small JSON state file), per C2SP tlog-cosignature.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit import log, merkle
from audit.checkpoint import (
    Checkpoint,
    add_signature_lines,
    cosign,
    verify_checkpoint,
)
from audit.encoding import b64
from audit.errors import InconsistentCheckpoint, InvalidProof
from audit.tables import audit_checkpoints, audit_cosignatures


@dataclass(frozen=True)
class WitnessResult:
    checkpoint: Checkpoint
    cosignature: str  # the signature line
    note: str  # the checkpoint note with the cosignature appended


def load_state(path: Path) -> dict[str, Checkpoint]:
    """The last checkpoint seen per origin (empty if the file does not exist yet)."""
    if not path.exists():
        return {}
    raw = json.loads(path.read_text("utf-8"))
    return {
        origin: Checkpoint(origin, int(v["size"]), base64.b64decode(v["root"]))
        for origin, v in raw.get("seen", {}).items()
    }


def save_state(path: Path, state: dict[str, Checkpoint]) -> None:
    """Write the state file atomically (write, fsync, rename)."""
    doc = {
        "seen": {
            origin: {"size": cp.size, "root": b64(cp.root)} for origin, cp in sorted(state.items())
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def check_and_cosign(
    note: str,
    *,
    log_public: Ed25519PublicKey,
    origin: str,
    previous: Checkpoint | None,
    proof: Sequence[bytes],
    witness_name: str,
    witness_key: Ed25519PrivateKey,
    now: dt.datetime,
) -> WitnessResult:
    """Verify the log's signature and consistency with `previous`, then co-sign.

    Raises InvalidCheckpoint for a bad signature and InconsistentCheckpoint when the new
    checkpoint is smaller than, or not an extension of, the one seen before.
    """
    checkpoint = verify_checkpoint(note, log_public, origin)
    if previous is not None:
        if checkpoint.size < previous.size:
            raise InconsistentCheckpoint(
                f"checkpoint of size {checkpoint.size} is older than the one seen "
                f"(size {previous.size})"
            )
        try:
            merkle.verify_consistency(
                previous.size, checkpoint.size, proof, previous.root, checkpoint.root
            )
        except InvalidProof as exc:
            raise InconsistentCheckpoint(
                f"checkpoint of size {checkpoint.size} is inconsistent with the one seen "
                f"(size {previous.size}): {exc}"
            ) from exc
    line = cosign(note, witness_name, witness_key, now)
    return WitnessResult(checkpoint, line, add_signature_lines(note, [line]))


def witness_log_checkpoint(
    conn: sa.Connection,
    note: str,
    *,
    log_public: Ed25519PublicKey,
    origin: str,
    witness_name: str,
    witness_key: Ed25519PrivateKey,
    state_path: Path,
    now: dt.datetime,
) -> WitnessResult:
    """`helhet audit witness`: check against the state file (with a consistency proof from the
    log), co-sign, store the cosignature with the matching stored checkpoint, update the state.
    """
    state = load_state(state_path)
    previous = state.get(origin)
    proof: list[bytes] = []
    checkpoint = verify_checkpoint(note, log_public, origin)
    if previous is not None and previous.size <= checkpoint.size <= log.tree_size(conn):
        proof = log.consistency_proof(conn, previous.size, checkpoint.size).hashes
    result = check_and_cosign(
        note,
        log_public=log_public,
        origin=origin,
        previous=previous,
        proof=proof,
        witness_name=witness_name,
        witness_key=witness_key,
        now=now,
    )
    stored_id = conn.execute(
        sa.select(audit_checkpoints.c.id)
        .where(audit_checkpoints.c.size == checkpoint.size)
        .where(audit_checkpoints.c.root == checkpoint.root)
        .order_by(audit_checkpoints.c.id)
        .limit(1)
    ).scalar()
    if stored_id is not None:
        conn.execute(
            sa.delete(audit_cosignatures)
            .where(audit_cosignatures.c.checkpoint_id == stored_id)
            .where(audit_cosignatures.c.witness == witness_name)
        )
        conn.execute(
            audit_cosignatures.insert().values(
                checkpoint_id=stored_id,
                witness=witness_name,
                timestamp=int(now.timestamp()),
                line=result.cosignature,
            )
        )
    state[origin] = checkpoint
    save_state(state_path, state)
    return result


__all__ = [
    "WitnessResult",
    "check_and_cosign",
    "load_state",
    "save_state",
    "witness_log_checkpoint",
]
