"""`helhet audit report PERSON`: the citizen's letter (nb/da/en), CSV and FHIR, each read
logged as an access entry naming the operating-system user."""

from __future__ import annotations

import csv
import getpass
import io
import json
from pathlib import Path

from click.testing import CliRunner

from audit.entries import EntryType
from gateway.cli.audit import group
from tests.helpers.console import CONSOLE_TOML, NO_BROKER, seed
from tests.helpers.gateway import running_gateway


def test_report_as_letter_csv_and_fhir(tmp_path: Path, sqlite_url: str) -> None:
    with running_gateway(tmp_path, sqlite_url, NO_BROKER, CONSOLE_TOML) as gw:
        world = seed(gw)

        def report(*args: str) -> str:
            result = CliRunner().invoke(
                group, ["report", world.child, *args], obj={"instance": gw.instance}
            )
            assert result.exit_code == 0, result.output
            return result.output

        norwegian = report("--lang", "nb")
        danish = report("--format", "html", "--lang", "da")
        english = report("--lang", "en", "--out", str(tmp_path / "letter.html"))
        table = report("--format", "csv")
        bundle = json.loads(report("--format", "fhir"))
        bad = CliRunner().invoke(group, ["report", "12345678901"], obj={"instance": gw.instance})
        entries = gw.log_entries()
    assert "<h1>Hvem har fått opplysninger om deg</h1>" in norwegian
    assert "<style>" in norwegian and "/console/static" not in norwegian  # stands alone
    for name in ("Helsestasjonen Testby", "Barneverntjenesten Testby"):
        assert name in norwegian and name in danish
    assert "Hvem har fået oplysninger om dig" in danish
    assert "written to" in english
    assert "Who has received information about you" in (tmp_path / "letter.html").read_text()
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {r["recipient"] for r in rows if r["event_type"] == "disclosure"} == {
        "health",
        "child_welfare",
    }
    assert bundle["resourceType"] == "Bundle"
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"AuditEvent"}
    assert bad.exit_code == 2 and "PERSON" in bad.output
    reads = [e for e in entries if e.event_type is EntryType.ACCESS]
    assert [e.details["format"] for e in reads] == ["html", "html", "html", "csv", "fhir"]
    assert {e.client for e in reads} == {f"cli:{getpass.getuser()}"}
    assert {e.subject_pseudonym for e in reads} == {gw.services.pseudonym(world.child)}
