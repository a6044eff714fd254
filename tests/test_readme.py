"""The README's "Running an instance" works as written: its shell block runs unchanged (the first
two lines in the clone, the rest in a fresh directory; ports moved by environment variables only,
so parallel runs never collide), and every role it creates reaches an authenticated API call."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.kafka.broker import free_port

PROJECT = Path(__file__).resolve().parents[1]
TOKEN = re.compile(r"client (\S+) \((\w+)[^)]*\)\ntoken \(shown once, store it now\): (hh_\S+)")


def quick_start() -> tuple[str, str]:
    """The block's set-up in the clone (make install, activate), and the rest."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Running an instance") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    in_clone, activate, rest = block.group(1).partition(". .venv/bin/activate")
    assert in_clone.startswith("make install") and "helhet serve" in rest
    comment, _, rest = rest.partition("\n")
    return in_clone + activate + comment, rest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the instance is made (the clone itself stays clean)."""
    return tmp_path


@pytest.fixture
def environment() -> dict[str, str]:
    broker, http = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELHET_")}
    env |= {
        "HELHET_BROKER_PORT": str(broker),
        "HELHET_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker}",
        "HELHET_HTTP_PORT": str(http),
    }
    return env


@pytest.fixture
def group() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:  # the shell's background broker and the server, whole groups
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)


def _serving(base: str, shell: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert shell.poll() is None, log.read_text()
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "helhet serve did not answer:\n" + log.read_text()
        time.sleep(0.3)


def test_the_readme_quick_start_runs_as_written(
    workdir: Path,
    environment: dict[str, str],
    group: list[subprocess.Popen[bytes]],
    kafka_bootstrap: str,  # the bundled broker binary must be there (a failure under CI)
) -> None:
    in_clone, rest = quick_start()
    log = workdir / "quick-start.log"
    with log.open("wb") as out:
        shell = subprocess.Popen(  # the README's own lines, with one `cd` between
            ["bash", "-c", f"set -e\n{in_clone}\ncd {workdir}\n{rest}\n"],
            cwd=PROJECT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    group.append(shell)
    base = f"http://127.0.0.1:{environment['HELHET_HTTP_PORT']}"
    _serving(base, shell, log)

    tokens = {name: token for name, _, token in TOKEN.findall(log.read_text())}
    roles = {role for _, role, _ in TOKEN.findall(log.read_text())}
    assert roles == {"agency", "coordinator", "privacy_officer", "operator"}
    assert sorted(p.name for p in (workdir / "handover").iterdir()) == sorted(
        f"{a}.key" for a in ("nav", "school", "health", "child_welfare", "housing")
    )

    def call(name: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        if "content" in kwargs:
            headers["Content-Type"] = "application/json"
        return httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    card = (PROJECT / "adapters/nav/examples/aktivitetskort-arbeidstrening.json").read_bytes()
    nav = call("nav-system", "POST", "/v1/records/nav", content=card)
    assert nav.status_code == 202, nav.text  # a test instance takes the synthetic numbers
    assert call("kari.koordinator", "GET", "/v1/legal-bases").status_code == 200
    assert call("per.personvernombud", "GET", "/v1/disclosures").status_code == 200
    assert call("drift", "GET", "/metrics").status_code == 200
    assert call("drift", "GET", "/v1/disclosures").status_code == 403
