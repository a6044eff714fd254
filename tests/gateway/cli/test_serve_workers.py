"""`helhet serve --workers N` refuses SQLite before serving anything."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gateway.cli.main import cli
from tests.helpers.gateway import make_instance


def test_several_workers_on_sqlite_are_refused_with_the_reason(
    tmp_path: Path, sqlite_url: str
) -> None:
    instance, _ = make_instance(tmp_path, sqlite_url, "127.0.0.1:9")
    config = instance.settings.config_file
    instance.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "serve", "--workers", "2"])
    assert result.exit_code == 2, result.output
    assert "--workers 2 needs PostgreSQL" in result.output
    assert "one writer at a time" in result.output
    nothing = CliRunner().invoke(cli, ["--config", str(config), "serve", "--workers", "0"])
    assert nothing.exit_code == 2
    assert "--workers" in nothing.output
