"""The long-lived state the intake and the relay share in one process: the consent and family
indexes, the data-key ring, the recipients' public keys and the pseudonym key. Built once from
the Instance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from audit.pseudonym import pseudonymise
from consent.index import ConsentIndex
from gateway.config.instance import Instance
from gateway.db.engine import reading, unavailable
from gateway.envelope.keyring import DataKeyRing, RecipientKeys
from gateway.intake.family_index import FamilyIndex, FamilySnapshot

log = logging.getLogger("helhet.intake")


@dataclass(frozen=True)
class Current:
    """What a decision is made on: the family index's snapshot and the consent index's change
    number (read before deciding: the decision saw at least that state)."""

    families: FamilySnapshot
    consent_seq: int

    @property
    def family_seq(self) -> int:
        return self.families.seq


__all__ = ["RecipientKeys", "Services"]


class Services:
    """Consent and family indexes, key ring and keys of one gateway process (thread-safe)."""

    def __init__(self, instance: Instance) -> None:
        settings = instance.settings
        self.instance = instance
        self.settings = settings
        self.consents = ConsentIndex(settings.statutory_bases, settings.age_rules())
        self.families = FamilyIndex()
        self.keyring = DataKeyRing(rotate_after=float(settings.data_key_rotation_seconds))
        self.recipient_keys = RecipientKeys(instance)

    @property
    def engine(self) -> sa.Engine:
        return self.instance.engine

    def load(self) -> None:
        """Build the consent and family indexes from the database (once, at start)."""
        with reading(self.engine) as conn:
            self.consents.load(conn)
            self.families.load(conn)

    def refresh(self, conn: sa.Connection) -> Current:
        """Bring both indexes up to what `conn` sees (by change sequence number); what to
        decide on. Call it in the transaction that decides."""
        self.consents.refresh(conn)
        consent_seq = self.consents.seq
        return Current(self.families.refresh(conn), consent_seq)

    def refresh_after_commit(self) -> None:
        """After a transaction that changed consents or families, apply it to this process's
        indexes at once (other processes refresh before their next decision). The change is
        committed whatever happens here: a busy or lost database only leaves it to the next
        refresh, so the caller's answer does not become an error."""
        try:
            with reading(self.engine) as conn:
                self.refresh(conn)
        except sa.exc.SQLAlchemyError as exc:
            if unavailable(exc) is None:
                raise
            log.warning("indexes not refreshed after a commit (next use will): %s", exc)

    def pseudonym(self, person: str) -> str:
        return pseudonymise(self.instance.pseudonym_key, person)
