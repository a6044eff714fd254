"""The bundled broker keeps its topics in memory: restarted, it has lost every message. That is
right for a demo broker, and it is said where an operator reads it: `helhet serve` warns when
its relay finds the bundled broker outside test mode, and `helhet audit reconcile` names the
likely cause when every earlier delivery is missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.kafka.broker import EmbeddedBroker
from tests.helpers.gateway import add_clients, make_instance
from tests.helpers.processes import (
    Poster,
    card_batches,
    outbox_count,
    relay,
    serve,
    wait_until,
    young_people_sharing,
)

pytestmark = pytest.mark.kafka  # it starts (and restarts) a bundled broker of its own

PRODUCTION = {
    "HELHET_ENVIRONMENT": "production",
    "HELHET_ALLOW_SYNTHETIC_IDS": "false",
    "HELHET_RELAY_ENABLED": "true",
}
WARNING = "is the bundled Kafka-protocol broker"


def _reconcile(config: Path) -> tuple[int, str, dict[str, object]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "--config",
                str(config),
                "audit",
                "reconcile",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    text = run()
    report = json.loads(run("--json").stdout)
    return text.returncode, text.stdout, report


def test_bundled_broker_restart_is_named_as_the_cause(
    tmp_path: Path, sqlite_url: str, record_fault: Callable[..., None]
) -> None:
    broker = EmbeddedBroker().start()
    instance, _ = make_instance(tmp_path, sqlite_url, broker.bootstrap_servers)
    try:
        config = instance.settings.config_file
        assert config is not None
        token = add_clients(instance)["nav"]
        people = young_people_sharing(instance, 5)

        # In production mode serve's relay says what this broker is; in test mode it does not.
        server, _ = serve(config, tmp_path / "serve-production.log", env=PRODUCTION)
        wait_until(lambda: WARNING in server.output(), "the bundled-broker warning", server)
        assert server.stop() == 0
        server, base = serve(config, tmp_path / "serve-test.log", env={"HELHET_RELAY_ENABLED": "1"})
        batches = card_batches(people, 40, 10)
        stats = Poster([base], token, batches[:2], threads=2).start().join()
        wait_until(lambda: outbox_count(instance) == 0, "the first 20 delivered", server)
        assert server.stop() == 0
        assert WARNING not in server.output()
        code, _, before = _reconcile(config)
        assert code == 0 and before["clean"], before

        broker.stop()
        broker.start()  # same port, nothing kept
        code, text, after = _reconcile(config)
        assert code == 1
        assert len(after["missing"]) == 20  # type: ignore[arg-type]
        assert "likely cause: every one of the 20 recorded deliveries is missing" in text
        assert WARNING in text and "memory only" in text

        # Deliveries after the restart are there; the cause names the earlier ones.
        process = relay(config, tmp_path / "relay.log")
        server, base = serve(config, tmp_path / "serve-again.log")
        more = Poster([base], token, batches[2:], threads=2).start().join()
        assert server.stop() == 0
        wait_until(lambda: outbox_count(instance) == 0, "the next 20 delivered", process)
        assert process.stop() == 0
        code, text, later = _reconcile(config)
        assert code == 1 and len(later["missing"]) == 20  # type: ignore[arg-type]
        assert "are the earliest ones" in text and WARNING in text
        record_fault(
            posted=stats.records + more.records,
            accepted=stats.accepted_records + more.accepted_records,
            delivered_before_restart=before["delivery_entries"],
            on_topics_after_restart=after["messages_on_topics"],
            missing_after_restart=len(after["missing"]),  # type: ignore[arg-type]
            on_topics_at_end=later["messages_on_topics"],
            duplicates=len(later["duplicates"]),  # type: ignore[arg-type]
        )
        assert later["duplicates"] == [] and later["messages_on_topics"] == 20
    finally:
        instance.close()
        broker.stop()
