"""`helhet plan retention | sweep` on a real instance (both databases): what will be deleted
when, and the sweep that closes ended enrolments."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from gateway.cli.plan import group
from gateway.config.instance import Instance
from gateway.intake.services import Services
from tests.helpers.intake import NOW, enrol, person
from tests.helpers.plan import add


def invoke(instance: Instance, *args: str) -> str:
    result = CliRunner().invoke(group, list(args), obj={"instance": instance})
    assert result.exit_code == 0, result.output
    return result.output


def test_retention_then_sweep(instance: Instance, services: Services) -> None:
    parent, born = person(40)
    yesterday = (NOW - dt.timedelta(days=1)).date().isoformat()
    ended = enrol(
        services,
        [{"id": parent, "role": "parent", "birth_date": born.isoformat()}],
        ["nav"],
        period={"start": "2020-01-01", "end": yesterday},
    )
    other, other_born = person(30)
    running = enrol(
        services, [{"id": other, "role": "parent", "birth_date": other_born.isoformat()}], ["nav"]
    )
    add(services, ended, "goal", subject=parent, title="Komme i jobb")
    [first, second] = json.loads(invoke(instance, "retention", "--json"))
    by_id = {first["family_id"]: first, second["family_id"]: second}
    assert by_id[ended]["status"] == "open" and by_id[ended]["closes_at"].startswith(yesterday)
    assert by_id[ended]["will_delete"]["plan_entry_versions"] == 1
    assert by_id[running]["closes_at"] is None and by_id[running]["delete_after"] is None
    text = invoke(instance, "retention", ended)
    assert f"{ended}  open" in text and "plan entries 1" in text and "kept: " in text
    out = invoke(instance, "sweep")
    assert f"closed {ended}: 0 consent(s) lapsed" in out
    assert out.strip().endswith("1 closed, 0 deleted, 0 waiting")
    assert json.loads(invoke(instance, "retention", ended, "--json"))[0]["status"] == "closed"
    assert invoke(instance, "sweep").strip().endswith("0 closed, 0 deleted, 0 waiting")
