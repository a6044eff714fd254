"""Data keys on the sending side: one random AES-256 key per recipient public key, HPKE-wrapped
once, replaced hourly (or after 2**24 uses) and at once when the recipient's key changes.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from recipient.envelope import DATA_KEY_BYTES, HPKE_SUITE, hpke_info

DEFAULT_ROTATE_AFTER = 3600.0
DEFAULT_MAX_USES = 1 << 24  # far below the 2**32 random-nonce limit of one AES-GCM key


@dataclass(frozen=True)
class DataKey:
    """One AES-256 data key for one recipient public key, and its HPKE-wrapped form."""

    key_id: str
    key: bytes
    wrapped_key: bytes
    created: float
    recipient_public: bytes


class _Slot:
    __slots__ = ("data_key", "uses")

    def __init__(self, data_key: DataKey) -> None:
        self.data_key = data_key
        self.uses = 0


class DataKeyRing:
    """Per (municipality, recipient, recipient public key): a random data key, HPKE-wrapped once.

    A key is replaced once it is `rotate_after` seconds old or has sealed `max_uses` messages;
    a new recipient public key gets a new data key at once. Thread-safe.
    """

    def __init__(
        self,
        rotate_after: float = DEFAULT_ROTATE_AFTER,
        *,
        max_uses: int = DEFAULT_MAX_USES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rotate_after <= 0 or rotate_after > DEFAULT_ROTATE_AFTER:
            raise ValueError("rotate_after must be in (0, 3600] seconds")
        if max_uses < 1:
            raise ValueError("max_uses must be positive")
        self.rotate_after = rotate_after
        self.max_uses = max_uses
        self._clock = clock
        self._slots: dict[tuple[str, str, bytes], _Slot] = {}
        self._lock = threading.Lock()

    def current(
        self, *, municipality: str, recipient: str, recipient_public_key: X25519PublicKey
    ) -> DataKey:
        """The data key to seal the next message to this recipient with (one use counted)."""
        public = recipient_public_key.public_bytes_raw()
        slot_id = (municipality, recipient, public)
        now = self._clock()
        with self._lock:
            slot = self._slots.get(slot_id)
            if (
                slot is None
                or now - slot.data_key.created >= self.rotate_after
                or slot.uses >= self.max_uses
            ):
                slot = _Slot(self._new_key(municipality, recipient, recipient_public_key, now))
                self._slots[slot_id] = slot
            slot.uses += 1
            return slot.data_key

    @staticmethod
    def _new_key(
        municipality: str, recipient: str, public_key: X25519PublicKey, now: float
    ) -> DataKey:
        key = secrets.token_bytes(DATA_KEY_BYTES)
        kid = base64.urlsafe_b64encode(secrets.token_bytes(12)).decode("ascii")
        wrapped = HPKE_SUITE.encrypt(key, public_key, info=hpke_info(municipality, recipient, kid))
        return DataKey(kid, key, wrapped, now, public_key.public_bytes_raw())
