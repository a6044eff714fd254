"""The running instance: settings, database engine and keys, built once and passed down.

The CLI commands and the HTTP app both get theirs from `open_instance`.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.config import keys
from gateway.config.settings import Settings
from gateway.db.engine import create_engine, sqlite_file
from gateway.errors import ConfigError
from schemas.identifiers import set_default_allow_synthetic

T = TypeVar("T")


@dataclass
class Instance:
    settings: Settings
    engine: sa.Engine
    readiness_probes: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)
    _closed: bool = field(default=False, repr=False)

    @property
    def origin(self) -> str:
        return self.settings.origin

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return _load(self.settings.signing_key_file, "signing_key_file", keys.load_signing_key)

    @property
    def signing_public_keys(self) -> list[Ed25519PublicKey]:
        """Every key the gateway has signed with: the current one first, then the retired
        ones (`helhet keys rotate signing`), newest first."""
        retired = _load(
            self.settings.signing_key_file, "signing_key_file", keys.load_retired_signing_keys
        )
        return [self.signing_key.public_key(), *retired]

    @cached_property
    def pseudonym_key(self) -> bytes:
        return _load(self.settings.pseudonym_key_file, "pseudonym_key_file", keys.load_secret)

    def check_private_files(self) -> None:
        """Refuse (ConfigError) a key file or SQLite database that others may read: they hold
        the signing and pseudonym keys and persons' numbers. `helhet serve` and `helhet relay`
        check this before they start."""
        settings = self.settings
        files = [
            ("signing_key_file", settings.signing_key_file),
            ("pseudonym_key_file", settings.pseudonym_key_file),
        ]
        database = sqlite_file(self.engine.url)
        if database is not None:
            files += [
                ("database_url", database.with_name(database.name + suffix))
                for suffix in ("", "-wal", "-shm")
            ]
        for key, path in files:
            try:
                mode = path.stat().st_mode
            except FileNotFoundError:
                continue
            if mode & 0o007:
                raise ConfigError(
                    key,
                    f"{path} is readable by other users (mode {stat.filemode(mode)}); "
                    f"run `chmod 600 {path}`",
                )

    def close(self) -> None:
        if not self._closed:
            self.engine.dispose()
            self._closed = True


def _load(path: Path, key: str, loader: Callable[[Path], T]) -> T:
    if not path.is_file():
        raise ConfigError(key, f"{path} does not exist (run `helhet init` to create it)")
    try:
        return loader(path)
    except (ValueError, OSError) as exc:
        raise ConfigError(key, f"{path} cannot be read: {exc}") from exc


def open_instance(settings: Settings) -> Instance:
    """Apply process-wide policy from the settings and connect to the database."""
    set_default_allow_synthetic(settings.allow_synthetic_ids)
    engine = create_engine(settings.database_url, write_wait=settings.database_write_wait_seconds)
    return Instance(settings=settings, engine=engine)
