"""A migrated gateway instance without a broker, on each database, and its Services: for the
unit tests of the intake, the outbox and the relay (which gets a fake publisher)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.config.instance import Instance
from gateway.intake.services import Services
from tests.helpers.gateway import make_instance

NO_BROKER = "127.0.0.1:9"  # nothing listens there: these tests never reach Kafka


@pytest.fixture
def instance_and_keys(
    tmp_path: Path, database_url: str
) -> Iterator[tuple[Instance, dict[str, X25519PrivateKey]]]:
    instance, agency_keys = make_instance(tmp_path, database_url, NO_BROKER)
    try:
        yield instance, agency_keys
    finally:
        instance.close()


@pytest.fixture
def instance(instance_and_keys: tuple[Instance, dict[str, X25519PrivateKey]]) -> Instance:
    return instance_and_keys[0]


@pytest.fixture
def services(instance: Instance) -> Services:
    services = Services(instance)
    services.load()
    return services
