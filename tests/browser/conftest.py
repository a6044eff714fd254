"""The console's browser tests: one headless Debian Chromium per module (Playwright), one real
gateway per module with a family, consents, forwarded records and a signed checkpoint, axe-core
from its npm package, and a directory for the run's screenshots (printed at the end).

Under CI=true a missing Chromium or axe-core fails the run; elsewhere the tests are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, artifacts_root, axe_path
from tests.helpers.console import CONSOLE_TOML, NO_BROKER, Seeded, seed
from tests.helpers.environment import unavailable
from tests.helpers.gateway import running_gateway

_artifacts: list[Path] = []


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium for one module, closed before the rest of the run."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is absent (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page for one test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    path = axe_path()
    if not path.is_file():
        unavailable(f"axe-core is not installed at {path} (make test installs it with npm)")
    return path.read_text("utf-8")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """This run's directory for screenshots (HELHET_TEST_ARTIFACTS, else .artifacts/browser)."""
    root = artifacts_root() / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    root.mkdir(parents=True, exist_ok=True)
    _artifacts.append(root)
    return root


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for root in _artifacts:
        shots = sorted(root.glob("*.png"))
        terminalreporter.write_line(f"console screenshots ({len(shots)}): {root}")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A real gateway on SQLite with a family, a consent, a forwarded record and a checkpoint."""
    tmp = tmp_path_factory.mktemp("console")
    with running_gateway(tmp, f"sqlite:///{tmp / 'helhet.db'}", NO_BROKER, CONSOLE_TOML) as gw:
        yield seed(gw)
