"""The API tests' gateway: the real app on a real HTTP server, on each database, without a
broker (the relay is off), with a token for every role (tests/helpers/gateway.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.gateway import Gateway, running_gateway

NO_BROKER = "127.0.0.1:9"  # nothing listens there: these tests never reach Kafka


@pytest.fixture
def gateway_toml() -> str:
    """TOML appended to the test instance's helhet.toml."""
    return ""


@pytest.fixture
def api(tmp_path: Path, database_url: str, gateway_toml: str) -> Iterator[Gateway]:
    with running_gateway(tmp_path, database_url, NO_BROKER, gateway_toml) as gateway:
        yield gateway
