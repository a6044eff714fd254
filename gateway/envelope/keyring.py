"""Key material on the sending side: recipients' public keys read from their files and kept
until a file changes (RecipientKeys), and one random AES-256 data key per recipient public key,
HPKE-wrapped once, replaced hourly (or after 2**24 uses) and at once when that key changes.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from gateway.config.instance import Instance
from gateway.config.keys import load_agency_public_key
from recipient.envelope import DATA_KEY_BYTES, HPKE_SUITE, hpke_info, key_id

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
        # the last public key object seen per recipient and its bytes: RecipientKeys hands out
        # one object per key file, so the bytes are taken once per key, not once per message
        self._publics: dict[tuple[str, str], tuple[X25519PublicKey, bytes]] = {}
        self._lock = threading.Lock()

    def current(
        self, *, municipality: str, recipient: str, recipient_public_key: X25519PublicKey
    ) -> DataKey:
        """The data key to seal the next message to this recipient with (one use counted)."""
        now = self._clock()
        with self._lock:
            known = self._publics.get((municipality, recipient))
            if known is not None and known[0] is recipient_public_key:
                public = known[1]
            else:
                public = recipient_public_key.public_bytes_raw()
                self._publics[(municipality, recipient)] = (recipient_public_key, public)
            slot_id = (municipality, recipient, public)
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


@dataclass(frozen=True)
class RecipientKey:
    """A recipient's X25519 public key as read from its file, with its raw bytes and key id."""

    public_key: X25519PublicKey
    raw: bytes
    key_id: str
    file_identity: tuple[int, int, int, int]


def _file_identity(path: str) -> tuple[int, int, int, int] | None:
    """What changes when a key file is replaced or rewritten: inode (a rename, as the rotation
    does), size, modification and status-change times (ns; a rewrite in place, even one that
    sets the modification time back)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class RecipientKeys:
    """Recipients' X25519 public keys from the instance's agency key files, read once per file
    version: each `get` looks at the file's identity (one stat) and parses the PEM again only
    when it changed, so `helhet keys rotate agency` takes effect from the next message without
    a restart. A removed file means no key. Thread-safe.
    """

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self._paths: dict[str, str] = {}
        self._cache: dict[str, RecipientKey] = {}
        self._lock = threading.Lock()

    def path(self, agency: str) -> Path:
        return self.instance.settings.agency_public_key_file(agency)

    def _path_text(self, agency: str) -> str:
        text = self._paths.get(agency)
        if text is None:
            text = self._paths[agency] = os.fspath(self.path(agency))
        return text

    def material(self, agency: str) -> RecipientKey | None:
        """The agency's current key with its raw bytes and key id, or None without a file."""
        path = self._path_text(agency)
        identity = _file_identity(path)
        if identity is None:
            return None
        cached = self._cache.get(agency)
        if cached is not None and cached.file_identity == identity:
            return cached
        with self._lock:
            cached = self._cache.get(agency)
            if cached is not None and cached.file_identity == identity:
                return cached
            try:
                public_key = load_agency_public_key(Path(path))
            except FileNotFoundError:
                return None
            raw = public_key.public_bytes_raw()
            if cached is not None and cached.raw == raw:
                public_key = cached.public_key  # rewritten, same key: keep its data key
            loaded = RecipientKey(public_key, raw, key_id(public_key), identity)
            self._cache[agency] = loaded
            return loaded

    def get(self, agency: str) -> X25519PublicKey | None:
        """The agency's current public key, or None when it has no key file."""
        loaded = self.material(agency)
        return None if loaded is None else loaded.public_key
