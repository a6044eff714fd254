"""The fault suite: real `helhet` processes killed by PID, a real broker, PostgreSQL.

Each fault records what the agency systems posted and what the agencies could read
(`record_fault`); the counts are printed at the end of the run and saved as JSON
(faults.json in the run's temporary directory, path printed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

FAULTS = pytest.StashKey[dict[str, dict[str, Any]]]()
FAULTS_FILE = pytest.StashKey[str]()


@pytest.fixture(scope="session", autouse=True)
def _fault_summary(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    request.config.stash[FAULTS] = {}
    yield
    faults = request.config.stash[FAULTS]
    if faults:
        path = tmp_path_factory.getbasetemp() / "faults.json"
        path.write_text(json.dumps(faults, indent=2, sort_keys=True), "utf-8")
        request.config.stash[FAULTS_FILE] = str(path)


@pytest.fixture
def record_fault(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record one fault's counts (posted, accepted, delivered, duplicates, missing, …)."""

    def record(**counts: Any) -> None:
        request.config.stash[FAULTS][request.node.name] = counts
        request.node.user_properties.append(("fault", json.dumps(counts, sort_keys=True)))

    return record


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    faults = config.stash.get(FAULTS, {})
    if not faults:
        return
    terminalreporter.section("faults: what was posted and what the agencies got")
    for name, counts in sorted(faults.items()):
        shown = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"{name}: {shown}")
    if FAULTS_FILE in config.stash:
        terminalreporter.write_line(f"saved as {config.stash[FAULTS_FILE]}")
