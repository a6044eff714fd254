"""`helhet translate`: JSON array out, exit 2 with the message on refusal."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gateway.cli.translate import command
from tests.helpers.adapters import PROJECT


def test_translate_prints_a_json_array() -> None:
    result = CliRunner().invoke(
        command,
        ["--agency", "housing", str(PROJECT / "adapters/housing/examples/kommunal-bolig.json")],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [u["schema"] for u in payload] == ["helhet.plan-update/1"] * 2
    assert all("description" not in item for u in payload for item in u["items"])  # exclude_none


def test_health_json_is_read_as_fhir_and_xml_by_extension() -> None:
    runner = CliRunner()
    health = runner.invoke(
        command,
        [
            "--agency",
            "health",
            str(PROJECT / "adapters/health/examples/bundle-dk-mor-og-barn.json"),
        ],
    )
    assert health.exit_code == 0, health.output
    xml = runner.invoke(
        command,
        [
            "--agency",
            "child_welfare",
            str(PROJECT / "adapters/child_welfare/examples/barnevern-v4.xml"),
        ],
    )
    assert json.loads(xml.output)[0]["source"]["record_type"] == "ssb-barnevern/Sak"


def test_refusal_exits_2_with_the_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"vedtakId": "1", "aktorId": "2754385123456", "innsatsgruppe": "STANDARD_INNSATS"}'
    )
    result = CliRunner().invoke(command, ["--agency", "nav", str(bad)])
    assert result.exit_code == 2
    assert "aktorId" in result.output


def test_content_type_option_wins(tmp_path: Path) -> None:
    body = (PROJECT / "adapters/nav/examples/aktivitetskort-batch.ndjson").read_bytes()
    odd = tmp_path / "batch.txt"
    odd.write_bytes(body)
    result = CliRunner().invoke(
        command, ["--agency", "nav", "--content-type", "application/x-ndjson", str(odd)]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 4
    unknown = CliRunner().invoke(command, ["--agency", "nav", str(odd)])
    assert unknown.exit_code == 2
