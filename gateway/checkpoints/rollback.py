"""The log against the checkpoints kept outside the database (the publish directory): a log
smaller than, or inconsistent with, the latest of them was truncated or rewritten, even if its
head row and stored checkpoints were rewritten to match. `serve` refuses to start on it and
`audit verify` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audit import log as audit_log
from audit.checkpoint import Checkpoint, verify_checkpoint_by_any, verify_cosignature
from audit.errors import InvalidCheckpoint
from gateway.checkpoints.witnesses import configured, published_notes
from gateway.config.instance import Instance
from gateway.db.engine import reading
from gateway.errors import LogRolledBack


@dataclass
class Published:
    """A published checkpoint that verifies with the log's key, and who cosigned it."""

    path: Path
    note: str
    checkpoint: Checkpoint
    witnessed_by: list[str] = field(default_factory=list)


def published(instance: Instance) -> tuple[list[Published], list[str]]:
    """The published checkpoints that verify, and the problems found (forged notes or
    cosignatures by configured witnesses that do not verify)."""
    found: list[Published] = []
    problems: list[str] = []
    witnesses = configured(instance.settings)
    for path, note in published_notes(instance.settings.checkpoint_publish_dir):
        try:
            checkpoint = verify_checkpoint_by_any(
                note, instance.signing_public_keys, instance.origin
            )
        except InvalidCheckpoint as exc:
            problems.append(f"published checkpoint {path} is forged: {exc}")
            continue
        entry = Published(path, note, checkpoint)
        for witness in witnesses:
            try:
                verify_cosignature(note, witness.name, witness.public)
            except InvalidCheckpoint as exc:
                if "carries no cosignature" not in str(exc):
                    problems.append(f"published checkpoint {path}: {exc}")
                continue
            entry.witnessed_by.append(witness.name)
        found.append(entry)
    return found, problems


def check_not_rolled_back(instance: Instance) -> Published | None:
    """Raise LogRolledBack if the log is smaller than, or not an extension of, the largest
    published checkpoint (or a published note is forged); return that checkpoint."""
    found, problems = published(instance)
    if problems:
        raise LogRolledBack("; ".join(problems))
    if not found:
        return None
    latest = max(found, key=lambda p: p.checkpoint.size)
    size = latest.checkpoint.size
    with reading(instance.engine) as conn:
        current = audit_log.tree_size(conn)
        if current < size:
            raise LogRolledBack(
                f"the log holds {current} entries but the checkpoint published at "
                f"{latest.path} attests {size}: entries were removed"
            )
        if audit_log.root(conn, size) != latest.checkpoint.root:
            raise LogRolledBack(
                f"the first {size} entries of the log do not hash to the root of the checkpoint "
                f"published at {latest.path}: the log was rewritten"
            )
    return latest
