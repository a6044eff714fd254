"""`make demo`'s main job, run small: its summary must add up against the topics and the log."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from click.testing import CliRunner

from gateway.cli import cli
from gateway.demo.run import run_demo, summary
from tests.helpers.console import csrf_of


def test_demo_summary_adds_up(tmp_path: Path, kafka_bootstrap: str) -> None:
    # kafka_bootstrap: the demo starts its own bundled broker; requesting the fixture makes a
    # missing broker binary a clear failure under CI rather than an error inside the demo.
    lines: list[str] = []
    console_pages: dict[str, int] = {}

    def while_serving() -> None:
        """Sign in to the console with the printed tokens, as the summary invites one to."""
        text = "\n".join(lines)
        base = re.search(r"web console: +(\S+)/console", text)
        assert base is not None, text
        pages = {
            "privacy officer": "/console/disclosures",
            "coordinator": "/console/families",
            "operator": "/console/log",
        }
        for label, page in pages.items():
            token = re.search(rf"  {label}: +(hh_\S+)", text)
            assert token is not None, label
            with httpx.Client(base_url=base.group(1)) as client:
                form = client.get("/console/sign-in")
                client.post(
                    "/console/sign-in",
                    data={"csrf": csrf_of(form.text), "token": token.group(1)},
                )
                console_pages[label] = client.get(page).status_code

    result = run_demo(
        tmp_path / "demo", families=14, seed=3, serve=True, wait=while_serving, echo=lines.append
    )
    assert console_pages == {"privacy officer": 200, "coordinator": 200, "operator": 200}
    assert result.adds_up, [c for c in result.checks if not c[1]]
    assert result.families == 14 and result.records_in > 0 and result.records_refused == 0
    assert sum(result.messages.values()) > 0 and sum(result.items.values()) > 0
    assert sum(result.notices.values()) > 0  # consents withdrawn after delivery
    for reason in ("expired", "withdrawn", "guardian_missing", "restricted", "no_consent"):
        assert result.withheld_items[reason] > 0, reason
    assert result.log_verified and result.checkpoint_verified and result.reconcile_clean
    assert result.checkpoint_size == result.log_size
    text = "\n".join(lines)
    # Written for the municipality's staff: plain words, no codes, the checks only on request.
    assert "helhet demo — Demo kommune" in text and "What was held back" in text
    assert "a child's consent lacked one of the guardians' signatures" in text
    assert "what the agencies' topics hold matches the log exactly" in text
    for code in ("guardian_missing", "reconcile", "[ok]", "[FAIL]", "checkpoint size"):
        assert code not in text, code
    verbose = summary(result, verbose=True)
    assert "reconcile (topics against the log): clean" in verbose and "[ok]" in verbose
    # Family plans: written, overviews received by team members, the families' own copies.
    assert result.plans > 0 and result.plan_entries >= 5 * result.plans
    assert sum(result.overviews.values()) > 0 and "an overview reaching" in text
    assert result.overview_routes["disclosed"] > 0
    copies = [tmp_path / "demo" / name for name in result.family_copies]
    assert len(copies) == result.plans and all("Våre mål" in p.read_text() for p in copies)
    assert "memory-only" in text and "the messages do not" in text  # said where it is read


def test_demo_command_help_lists_it() -> None:
    output = CliRunner().invoke(cli, ["demo", "--help"]).output
    assert "synthetic municipality" in output and "--no-serve" in output and "--verbose" in output
