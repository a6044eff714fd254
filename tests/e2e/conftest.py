"""The end-to-end tests' gateway: a real one on each database and the session's broker.

A module that needs configuration of its own overrides `gateway_toml`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.gateway import Gateway, running_gateway


@pytest.fixture
def gateway_toml() -> str:
    """TOML appended to the test instance's helhet.toml."""
    return ""


@pytest.fixture
def gw(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, gateway_toml: str
) -> Iterator[Gateway]:
    with running_gateway(tmp_path, database_url, kafka_bootstrap, gateway_toml) as gateway:
        yield gateway
