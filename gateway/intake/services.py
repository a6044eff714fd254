"""The long-lived state the intake and the relay share in one process: the consent index, the
data-key ring, the recipients' public keys and the pseudonym key. Built once from the Instance.
"""

from __future__ import annotations

import sqlalchemy as sa

from audit.pseudonym import pseudonymise
from consent.index import ConsentIndex
from gateway.config.instance import Instance
from gateway.envelope.keyring import DataKeyRing, RecipientKeys

__all__ = ["RecipientKeys", "Services"]


class Services:
    """Consent index, key ring and keys of one gateway process (thread-safe)."""

    def __init__(self, instance: Instance) -> None:
        settings = instance.settings
        self.instance = instance
        self.settings = settings
        self.consents = ConsentIndex(settings.statutory_bases, settings.age_rules())
        self.keyring = DataKeyRing(rotate_after=float(settings.data_key_rotation_seconds))
        self.recipient_keys = RecipientKeys(instance)

    @property
    def engine(self) -> sa.Engine:
        return self.instance.engine

    def load(self) -> None:
        """Build the consent index from the store (once, at start)."""
        with self.engine.connect() as conn:
            self.consents.load(conn)

    def pseudonym(self, person: str) -> str:
        return pseudonymise(self.instance.pseudonym_key, person)
