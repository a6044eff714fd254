"""Driving Debian's Chromium with Playwright for the console's tests: launching it, signing in,
axe-core checks injected into a page, and screenshots kept as the run's artifacts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where `make test` (and .ci/run) install the axe-core npm package.
AXE_DEFAULT = PROJECT / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS_DEFAULT = PROJECT / ".artifacts" / "browser"
SERIOUS = ("serious", "critical")


def axe_path() -> Path:
    return Path(os.environ.get("HELHET_TEST_AXE", str(AXE_DEFAULT)))


def artifacts_root() -> Path:
    return Path(os.environ.get("HELHET_TEST_ARTIFACTS", str(ARTIFACTS_DEFAULT)))


def sign_in(page: Any, base_url: str, token: str) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{base_url}/console/sign-in")
    page.get_by_label(re.compile("token", re.IGNORECASE)).fill(token)
    page.get_by_role("button", name=re.compile("sign in|logg inn|log ind", re.IGNORECASE)).click()
    page.wait_for_load_state()


def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A/AA)."""
    page.evaluate(axe_source)  # through the debugger: the page's CSP allows no inline script
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                "best-practice"]}
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['impact']}: {v['id']} — {v['help']} at {v['nodes'][:3]}" for v in violations
    )
