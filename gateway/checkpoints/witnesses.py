"""Checkpoints outside the database: every configured witness with a URL is asked to cosign
(C2SP tlog-witness `add-checkpoint`) and its cosignature is verified (C2SP tlog-cosignature)
before it is stored; every checkpoint, with its cosignatures, is written to the publish
directory, where `serve` and `audit verify` find it again (gateway.checkpoints.rollback).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import log as audit_log
from audit.checkpoint import (
    StoredCheckpoint,
    add_signature_lines,
    checkpoint_with_cosignatures,
    parse_vkey,
    verify_cosignature,
)
from audit.encoding import b64
from audit.errors import AuditError, BadRange
from audit.tables import audit_checkpoints, audit_cosignatures
from gateway.config.instance import Instance
from gateway.config.settings import Settings
from gateway.db.engine import reading
from gateway.errors import WitnessRefused

log = logging.getLogger("helhet.checkpoints")

ADD_CHECKPOINT = "add-checkpoint"
SIZE_MEDIA_TYPE = "text/x.tlog.size"
FILE_PREFIX, FILE_SUFFIX = "checkpoint-", ".txt"


@dataclass(frozen=True)
class Witness:
    name: str
    public: Ed25519PublicKey
    url: str | None


def configured(settings: Settings) -> list[Witness]:
    """The witnesses of the configuration (their keys were checked when it was loaded)."""
    witnesses = []
    for config in settings.witnesses:
        name, public, _ = parse_vkey(config.key)
        witnesses.append(Witness(name, public, config.url))
    return witnesses


# --- asking a witness -------------------------------------------------------------------------


def _last_cosigned_size(conn: sa.Connection, witness: str) -> int:
    """The size of the latest checkpoint this witness cosigned (0 if none): the old size."""
    size = conn.execute(
        sa.select(sa.func.max(audit_checkpoints.c.size))
        .join(audit_cosignatures, audit_cosignatures.c.checkpoint_id == audit_checkpoints.c.id)
        .where(audit_cosignatures.c.witness == witness)
    ).scalar()
    return int(size or 0)


def _request_body(note: str, old: int, proof: list[bytes]) -> bytes:
    lines = [f"old {old}", *(b64(h) for h in proof), ""]
    return ("\n".join(lines) + "\n" + note).encode()


def ask(
    instance: Instance, witness: Witness, stored: StoredCheckpoint, client: httpx.Client
) -> str:
    """The witness's verified cosignature line for `stored` (WitnessRefused otherwise).

    Sends the size it last cosigned for us and a consistency proof from it; on 409 the
    witness tells the size it knows, and one more attempt is made from that size. A witness
    that knows a larger log than this one is the sign of a log rolled back.
    """
    assert witness.url is not None
    url = witness.url.rstrip("/") + "/" + ADD_CHECKPOINT
    with reading(instance.engine) as conn:
        old = _last_cosigned_size(conn, witness.name)
    for _ in range(2):
        new = stored.checkpoint.size
        if old > new:
            raise WitnessRefused(
                witness.name,
                f"it has cosigned a log of {old} entries; this checkpoint holds {new}: "
                "the log is smaller than one witnessed before",
            )
        with reading(instance.engine) as conn:
            try:
                proof = audit_log.consistency_proof(conn, old, new).hashes
            except BadRange as exc:
                raise WitnessRefused(witness.name, str(exc)) from exc
        try:
            response = client.post(url, content=_request_body(stored.note, old, proof))
        except httpx.HTTPError as exc:
            raise WitnessRefused(witness.name, f"not reachable: {exc}", retriable=True) from exc
        if response.status_code == 409 and response.headers.get("content-type", "").startswith(
            SIZE_MEDIA_TYPE
        ):
            text = response.text.removesuffix("\n")
            if not text.isascii() or not text.isdigit():
                raise WitnessRefused(witness.name, f"malformed size answer {response.text!r}")
            old = int(text)
            continue
        if response.status_code != 200:
            raise WitnessRefused(
                witness.name, f"answered {response.status_code}: {response.text.strip()[:200]}"
            )
        return _verified_line(witness, stored.note, response.text)
    raise WitnessRefused(witness.name, "the old size kept changing")


def _verified_line(witness: Witness, note: str, answer: str) -> str:
    """The one cosignature line of the answer that verifies with the witness's key."""
    for line in answer.splitlines():
        candidate = line + "\n"
        try:
            verify_cosignature(add_signature_lines(note, [candidate]), witness.name, witness.public)
        except AuditError:
            continue
        return candidate
    raise WitnessRefused(witness.name, "its answer holds no valid cosignature by its key")


def _store(instance: Instance, stored: StoredCheckpoint, witness: Witness, line: str) -> None:
    note = add_signature_lines(stored.note, [line])
    timestamp = verify_cosignature(note, witness.name, witness.public)
    with instance.engine.begin() as conn:
        conn.execute(
            sa.delete(audit_cosignatures)
            .where(audit_cosignatures.c.checkpoint_id == stored.id)
            .where(audit_cosignatures.c.witness == witness.name)
        )
        conn.execute(
            audit_cosignatures.insert().values(
                checkpoint_id=stored.id, witness=witness.name, timestamp=timestamp, line=line
            )
        )


def _cosigned_by(instance: Instance, stored: StoredCheckpoint) -> set[str]:
    with reading(instance.engine) as conn:
        rows = conn.execute(
            sa.select(audit_cosignatures.c.witness).where(
                audit_cosignatures.c.checkpoint_id == stored.id
            )
        )
        return {str(name) for name in rows.scalars()}


# --- publishing -------------------------------------------------------------------------------


def file_name(size: int) -> str:
    return f"{FILE_PREFIX}{size:015d}{FILE_SUFFIX}"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)  # a checkpoint is public: size and root hash only
    os.replace(tmp, path)


def publish(instance: Instance, stored: StoredCheckpoint) -> list[str]:
    """Ask every witness that has not cosigned `stored` yet, then write it (with every
    cosignature) to the publish directory. Returns the problems met (empty when all went well);
    a problem never undoes the checkpoint, and the next round tries again."""
    problems: list[str] = []
    done = _cosigned_by(instance, stored)
    asking = [w for w in configured(instance.settings) if w.url and w.name not in done]
    if asking:
        timeout = instance.settings.witness_timeout_seconds
        with httpx.Client(timeout=timeout) as client:
            for witness in asking:
                try:
                    _store(instance, stored, witness, ask(instance, witness, stored, client))
                except WitnessRefused as exc:
                    log.error("%s", exc)
                    problems.append(str(exc))
    directory = instance.settings.checkpoint_publish_dir
    if directory is not None:
        with reading(instance.engine) as conn:
            note = checkpoint_with_cosignatures(conn, stored)
        path = Path(directory) / file_name(stored.checkpoint.size)
        try:
            if not path.is_file() or path.read_text("utf-8") != note:
                write_atomically(path, note)
        except OSError as exc:
            problems.append(f"cannot publish to {directory}: {exc}")
            log.error("cannot publish checkpoint of size %d: %s", stored.checkpoint.size, exc)
    return problems


def published_notes(directory: Path | None) -> list[tuple[Path, str]]:
    """Every checkpoint note in the publish directory, by file name (oldest first)."""
    if directory is None or not Path(directory).is_dir():
        return []
    paths = sorted(Path(directory).glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"))
    return [(path, path.read_text("utf-8")) for path in paths]
