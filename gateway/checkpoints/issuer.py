"""Scheduled checkpoints: a daemon thread in `helhet serve` that signs a checkpoint of the log
every `checkpoint_interval_seconds` when the log has grown since the latest one, and has it
witnessed and published (gateway.checkpoints.witnesses).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from audit.checkpoint import StoredCheckpoint, issue_checkpoint, latest_checkpoint
from audit.errors import AuditError
from audit.log import tree_size
from gateway.checkpoints.witnesses import publish
from gateway.config.instance import Instance
from gateway.db.engine import reading

log = logging.getLogger("helhet.checkpoints")


def issue_now(instance: Instance, *, only_if_grown: bool = False) -> tuple[StoredCheckpoint, bool]:
    """Sign a checkpoint of the whole log now: (the checkpoint, whether it is new).

    With `only_if_grown`, a log no larger than the latest checkpoint gets none (the latest is
    returned); a log without any checkpoint always gets one, even an empty log (size 0 is a
    valid tree), so that there is always a checkpoint to verify against. Several processes may
    call this at once: issuing locks the log's head, so none signs a duplicate and none signs a
    head inconsistent with an earlier checkpoint (InconsistentCheckpoint).
    """
    engine = instance.engine
    if only_if_grown:
        with reading(engine) as conn:
            size = tree_size(conn)
            latest = latest_checkpoint(conn)
        if latest is not None and latest.checkpoint.size >= size:
            return latest, False
    with engine.begin() as conn:
        before = latest_checkpoint(conn)
        stored = issue_checkpoint(
            conn,
            instance.signing_key,
            instance.origin,
            dt.datetime.now(dt.UTC),
            previous_keys=instance.signing_public_keys[1:],
        )
    return stored, before is None or stored.id != before.id


class CheckpointThread:
    """Signs a checkpoint at start-up (the first of a new log too, of size 0) and then every
    interval, whenever the log has grown."""

    def __init__(self, instance: Instance, interval: float | None = None) -> None:
        self.instance = instance
        self.interval = float(
            interval if interval is not None else instance.settings.checkpoint_interval_seconds
        )
        self.last_error: str | None = None
        self.witness_error: str | None = None  # the last round's witnessing/publishing problems
        self.issued = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name="helhet-checkpoints")

    def tick(self) -> StoredCheckpoint | None:
        """One round: the new checkpoint, or None if the log had not grown (or it failed)."""
        try:
            stored, new = issue_now(self.instance, only_if_grown=True)
        except AuditError as exc:
            # An inconsistent or forged latest checkpoint: never sign over it; say so loudly.
            self.last_error = f"checkpoint refused: {exc}"
            log.error("%s", self.last_error)
            return None
        except Exception as exc:  # the database is away: try again next round
            self.last_error = f"checkpoint failed: {exc}"
            log.exception("could not issue a scheduled checkpoint")
            return None
        self.last_error = None
        problems = publish(self.instance, stored)  # new, or the latest still missing a witness
        self.witness_error = "; ".join(problems) or None
        if new:
            self.issued += 1
            log.info("signed checkpoint #%d of %d entries", stored.id, stored.checkpoint.size)
            return stored
        return None

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.tick()

    def start(self) -> None:
        """Sign the start-up checkpoint now (before the server answers), then run on schedule."""
        self.tick()
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
