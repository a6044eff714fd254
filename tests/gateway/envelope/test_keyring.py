"""Recipients' public keys read once per file version, and data keys per recipient key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gateway.config.instance import Instance
from gateway.config.keys import (
    load_agency_public_key,
    public_pem,
    rotate_agency_keypair,
)
from gateway.envelope.keyring import DataKeyRing, RecipientKeys
from recipient.envelope import key_id
from tests.helpers.gateway import make_instance


@pytest.fixture
def instance(tmp_path: Path, sqlite_url: str) -> Iterator[Instance]:
    made, _ = make_instance(tmp_path, sqlite_url, "127.0.0.1:9")
    yield made
    made.close()


def _copy(key: X25519PublicKey) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(key.public_bytes_raw())


def test_a_key_file_is_read_once_while_it_is_unchanged(instance: Instance) -> None:
    keys = RecipientKeys(instance)
    first = keys.material("school")
    assert first is not None
    assert keys.material("school") is first
    assert keys.get("school") is first.public_key
    on_disk = load_agency_public_key(keys.path("school"))
    assert first.raw == on_disk.public_bytes_raw()
    assert first.key_id == key_id(on_disk)


def test_rotation_takes_effect_at_the_next_call(instance: Instance, tmp_path: Path) -> None:
    keys = RecipientKeys(instance)
    ring = DataKeyRing()
    old = keys.get("school")
    assert old is not None
    old_data_key = ring.current(municipality="0301", recipient="school", recipient_public_key=old)

    private_path = rotate_agency_keypair(keys.path("school"), tmp_path / "handover", "school")

    new = keys.get("school")
    assert new is not None
    assert new.public_bytes_raw() != old.public_bytes_raw()
    private = X25519PrivateKey.from_private_bytes(
        _raw_private(private_path)  # the key handed to the agency matches what is sealed for
    )
    assert new.public_bytes_raw() == private.public_key().public_bytes_raw()
    new_data_key = ring.current(municipality="0301", recipient="school", recipient_public_key=new)
    assert new_data_key.key_id != old_data_key.key_id
    assert new_data_key.recipient_public == new.public_bytes_raw()


def _raw_private(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, X25519PrivateKey)
    return key.private_bytes_raw()


def test_a_rewrite_in_place_is_noticed(instance: Instance) -> None:
    keys = RecipientKeys(instance)
    path = keys.path("school")
    old = keys.material("school")
    assert old is not None
    replacement = X25519PrivateKey.generate().public_key()
    before = path.stat()
    with path.open("r+b") as handle:  # same inode, same size (a PEM of an X25519 key)
        handle.write(public_pem(replacement))
        handle.truncate()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert path.stat().st_ino == before.st_ino

    new = keys.material("school")
    assert new is not None
    assert new.raw == replacement.public_bytes_raw() != old.raw


def test_the_same_key_rewritten_keeps_its_object_and_data_key(instance: Instance) -> None:
    keys = RecipientKeys(instance)
    ring = DataKeyRing()
    path = keys.path("school")
    first = keys.material("school")
    assert first is not None
    data_key = ring.current(
        municipality="0301", recipient="school", recipient_public_key=first.public_key
    )
    tmp = path.with_name("copy.pem")
    tmp.write_bytes(path.read_bytes())
    tmp.replace(path)  # a new file (new inode) with the same key

    again = keys.material("school")
    assert again is not None and again is not first
    assert again.public_key is first.public_key
    same = ring.current(
        municipality="0301", recipient="school", recipient_public_key=again.public_key
    )
    assert same.key_id == data_key.key_id


def test_a_removed_key_file_means_no_key_until_it_is_back(instance: Instance) -> None:
    keys = RecipientKeys(instance)
    path = keys.path("housing")
    content = path.read_bytes()
    assert keys.get("housing") is not None
    path.unlink()
    assert keys.get("housing") is None
    path.write_bytes(content)
    restored = keys.get("housing")
    assert restored is not None
    assert restored.public_bytes_raw() == load_agency_public_key(path).public_bytes_raw()


def test_the_ring_compares_key_bytes_not_objects() -> None:
    ring = DataKeyRing()
    key = X25519PrivateKey.generate().public_key()
    first = ring.current(municipality="0301", recipient="school", recipient_public_key=key)
    second = ring.current(municipality="0301", recipient="school", recipient_public_key=_copy(key))
    assert second.key_id == first.key_id
    other = X25519PrivateKey.generate().public_key()
    third = ring.current(municipality="0301", recipient="school", recipient_public_key=other)
    assert third.key_id != first.key_id
    assert third.recipient_public == other.public_bytes_raw()
    back = ring.current(municipality="0301", recipient="school", recipient_public_key=key)
    assert back.key_id == first.key_id
