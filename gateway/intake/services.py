"""The long-lived state the intake and the relay share in one process: the consent index, the
data-key ring, the recipients' public keys and the pseudonym key. Built once from the Instance.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from audit.pseudonym import pseudonymise
from consent.index import ConsentIndex
from gateway.config.instance import Instance
from gateway.config.keys import load_agency_public_key
from gateway.envelope.keyring import DataKeyRing


@dataclass
class RecipientKeys:
    """Recipients' X25519 public keys from the instance's agency_keys_dir, reloaded on change."""

    instance: Instance
    _cache: dict[str, tuple[float, X25519PublicKey]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, agency: str) -> Path:
        return self.instance.settings.agency_public_key_file(agency)

    def get(self, agency: str) -> X25519PublicKey | None:
        path = self.path(agency)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        with self._lock:
            cached = self._cache.get(agency)
            if cached and cached[0] == mtime:
                return cached[1]
            key = load_agency_public_key(path)
            self._cache[agency] = (mtime, key)
            return key


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
