"""A real gateway (SQLite, no broker) with the console's test family, per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.console import CONSOLE_TOML, NO_BROKER, Seeded, seed
from tests.helpers.gateway import running_gateway


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str) -> Iterator[Seeded]:
    with running_gateway(tmp_path, sqlite_url, NO_BROKER, CONSOLE_TOML) as gw:
        yield seed(gw)
