"""The `helhet` CLI: init, keys, clients, db upgrade, serve (a real process answering HTTP)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gateway.cli import cli
from gateway.config.keys import load_agency_public_key, load_signing_key
from gateway.db.engine import create_engine
from gateway.db.tables import clients
from gateway.kafka.broker import free_port
from recipient.keys import load_agency_private_key


def run(config: Path | None, *args: str) -> str:
    argv = (["--config", str(config)] if config else []) + list(args)
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def instance_config(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> Path:
    run(
        None,
        "init",
        str(tmp_path / "inst"),
        "--municipality",
        "0301",
        "--name",
        "Testby",
        "--test",
        "--database-url",
        database_url,
        "--kafka",
        kafka_bootstrap,
    )
    return tmp_path / "inst" / "helhet.toml"


def test_help_lists_the_commands() -> None:
    output = run(None, "--help")
    for command in ("init", "keys", "clients", "db", "serve"):
        assert f"  {command} " in output


def test_init_writes_private_files_0600(tmp_path: Path) -> None:
    run(None, "init", str(tmp_path / "i"), "--municipality", "0301")
    signing = tmp_path / "i" / "keys" / "gateway-signing.pem"
    pseudonym = tmp_path / "i" / "keys" / "pseudonym.key"
    for path in (signing, pseudonym):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    load_signing_key(signing)
    config = (tmp_path / "i" / "helhet.toml").read_text()
    assert 'environment = "production"' in config and "allow_synthetic_ids = false" in config
    again = CliRunner().invoke(cli, ["init", str(tmp_path / "i"), "--municipality", "0301"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_keys_generate(
    instance_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "handover"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the private key goes to the current directory by default
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--config", str(instance_config), "keys", "generate", "--agency", "school"]
    )
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    keys_dir = instance_config.parent / "agency-keys"
    assert not (keys_dir / "school.key").exists()
    private = load_agency_private_key(elsewhere / "school.key")
    public = load_agency_public_key(keys_dir / "school.pub.pem")
    assert private.public_key().public_bytes_raw() == public.public_bytes_raw()
    assert stat.S_IMODE((elsewhere / "school.key").stat().st_mode) == 0o600
    inside = runner.invoke(
        cli,
        [
            "--config",
            str(instance_config),
            "keys",
            "generate",
            "--agency",
            "nav",
            "--out",
            str(keys_dir),
        ],
    )
    assert inside.exit_code == 0
    assert "warning: the private key was written inside the instance" in inside.output


def test_clients_add_and_list_store_only_the_hash(instance_config: Path) -> None:
    run(instance_config, "db", "upgrade")
    issued = json.loads(
        run(
            instance_config,
            "clients",
            "add",
            "nav-arena",
            "--role",
            "agency",
            "--agency",
            "nav",
            "--json",
        )
    )
    assert issued["token"].startswith("hh_") and issued["agency"] == "nav"
    listed = json.loads(run(instance_config, "clients", "list", "--json"))
    assert [c["name"] for c in listed] == ["nav-arena"]
    assert "token" not in listed[0]
    from gateway.config.settings import load_settings

    engine = create_engine(load_settings(instance_config).database_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(clients.c.token_sha256)).scalar_one()
    engine.dispose()
    assert issued["token"] not in stored and len(stored) == 64
    bad = CliRunner().invoke(
        cli, ["--config", str(instance_config), "clients", "add", "x", "--role", "agency"]
    )
    assert bad.exit_code != 0 and "--agency" in bad.output


def _serve(config: Path, port: int, **env_extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HELHET_CONFIG": str(config), **env_extra}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_serve_refuses_an_unmigrated_database(instance_config: Path) -> None:
    process = _serve(instance_config, free_port())
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "helhet db upgrade" in output


def test_init_upgrade_serve_answers_healthz(instance_config: Path) -> None:
    run(instance_config, "db", "upgrade")
    port = free_port()
    process = _serve(instance_config, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "serve did not answer in 60 s"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        ready = _ready_within(port, 60)  # once the relay has reached the broker
        assert ready.json()["checks"] == {
            "database": "ok",
            "relay": "ok",
            "checkpoints": "ok",
            "witnesses": "ok",
        }
        keys = httpx.get(f"http://127.0.0.1:{port}/v1/keys", timeout=5).json()["keys"]
        assert keys[0]["crv"] == "Ed25519"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    # It says what it connected to, and that the relay found the broker.
    assert "at schema revision" in output and "the relay runs here" in output, output
    assert "relay reached the broker at" in output
    assert "latest signed checkpoint of 0 entries" in output


def _ready_within(port: int, seconds: float) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        if ready.status_code == 200:
            return ready
        assert time.monotonic() < deadline, ready.json()
        time.sleep(0.2)


def test_readiness_is_not_claimed_without_a_broker(instance_config: Path) -> None:
    run(instance_config, "db", "upgrade")
    port, nowhere = free_port(), free_port()
    process = _serve(instance_config, port, HELHET_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{nowhere}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "serve did not answer in 60 s"
                time.sleep(0.2)
        assert ready.status_code == 503  # from the first answer on: never "ready" by default
        assert ready.json()["checks"]["relay"].startswith("not ready")
        assert ready.json()["checks"]["database"] == "ok"
        started = time.monotonic()
        process.terminate()
        process.communicate(timeout=30)
        assert process.returncode == 0
        assert time.monotonic() - started < 10  # a prompt stop, even with the broker away
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--municipality", "abc"], "4 digits in Norway"),
        (["--municipality", "18700"], "not '18700'"),
        (["--municipality", "0301", "--country", "DK"], "in DK has 3 digits"),
        (["--municipality", "101"], "in NO has 4 digits"),
        (["--municipality", "0301", "--database-url", "mysql://x"], "database_url"),
    ],
)
def test_init_checks_its_arguments_before_writing_anything(
    tmp_path: Path, args: list[str], said: str
) -> None:
    target = tmp_path / "inst"
    result = CliRunner().invoke(cli, ["init", str(target), *args])
    assert result.exit_code != 0
    assert said in result.output and "nothing was written" in result.output
    assert not target.exists()


def test_a_missing_configuration_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HELHET_CONFIG", raising=False)
    monkeypatch.delenv("HELHET_MUNICIPALITY", raising=False)
    for argv, said in (
        (["clients", "list"], "export HELHET_CONFIG="),
        (["--config", str(tmp_path / "nope.toml"), "db", "current"], "nope.toml does not exist"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli", *argv],
            capture_output=True,
            text=True,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("HELHET_")},
        )
        assert result.returncode == 1, result.stderr
        assert said in result.stderr and "helhet init" in result.stderr
        assert "Field required" not in result.stderr
