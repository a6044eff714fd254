"""Backup and restore as docs/operations.md describes it: pg_dump of the database and a copy of
the keys; later the database is lost and the older backup restored. Before anything resumes:

- `helhet audit verify --checkpoint <last witnessed>` states exactly which entries were lost;
- `helhet audit reconcile` lists the messages delivered after the backup;
- `helhet db restored`, then the relay: what was delivered after the backup is found on its
  topic, not sent again; new records flow as before.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from audit import log as audit_log
from gateway.config.instance import Instance
from gateway.intake.pipeline import accept_record
from gateway.intake.services import Services
from tests.helpers.environment import unavailable
from tests.helpers.gateway import make_instance
from tests.helpers.processes import all_topics, topic_counts, young_people_sharing
from tests.helpers.records import nav_card


def _libpq_url(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} (PostgreSQL client tools) is not installed")
    assert found is not None
    return found


def _helhet(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _post(services: Services, people: list[str], count: int) -> None:
    for n in range(count):
        accept_record(
            services,
            agency="nav",
            body=nav_card(people[n % len(people)], str(uuid.uuid4())),
            content_type="application/json",
            client_id="c-nav",
            client_name="nav-system",
            idempotency_key=None,
            now=dt.datetime.now(dt.UTC),
        )


def _relay_once(config: Path) -> str:
    result = _helhet(config, "relay", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def _size(instance: Instance) -> int:
    with instance.engine.connect() as conn:
        return audit_log.tree_size(conn)


def test_restore_of_an_older_backup_names_what_was_lost(
    tmp_path: Path, postgres_url: str, kafka_bootstrap: str, record_fault: Callable[..., None]
) -> None:
    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    instance, _ = make_instance(tmp_path, postgres_url, kafka_bootstrap)
    config = instance.settings.config_file
    assert config is not None
    home = config.parent
    try:
        services = Services(instance)
        services.load()
        people = young_people_sharing(instance, 4)
        _post(services, people, 10)
        assert _relay_once(config) == "delivered 10"
        _post(services, people, 5)  # accepted, still waiting when the backup is taken
        topics = all_topics(instance)
        before = set(topic_counts(kafka_bootstrap, topics))

        # The backup: the database (pg_dump) and the keys, kept apart.
        backup = tmp_path / "backup"
        backup.mkdir()
        dump = subprocess.run(
            [
                pg_dump,
                "--format=custom",
                f"--file={backup / 'helhet.dump'}",
                _libpq_url(postgres_url),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert dump.returncode == 0, dump.stderr
        shutil.copytree(home / "keys", backup / "keys")
        size_at_backup = _size(instance)

        # Work goes on: the 5 waiting and 7 new records are delivered; a checkpoint is saved
        # outside the database (the last one a witness, agency or privacy officer holds).
        _post(services, people, 7)
        assert _relay_once(config) == "delivered 12"
        witnessed = tmp_path / "witnessed-checkpoint.txt"
        signed = _helhet(config, "audit", "checkpoint", "--out", str(witnessed))
        assert signed.returncode == 0, signed.stderr
        size_witnessed = _size(instance)
        after = set(topic_counts(kafka_bootstrap, topics)) - before
        assert len(after) == 12

        # The database (and the keys on that machine) are lost; the backup is restored.
        instance.engine.dispose()
        shutil.rmtree(home / "keys")
        wipe = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with wipe.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        wipe.dispose()
        restore = subprocess.run(
            [
                pg_restore,
                "--no-owner",
                f"--dbname={_libpq_url(postgres_url)}",
                str(backup / "helhet.dump"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr
        shutil.copytree(backup / "keys", home / "keys")
        assert _size(instance) == size_at_backup

        # verify against the last witnessed checkpoint: exactly the entries written since.
        verified = _helhet(config, "audit", "verify", "--checkpoint", str(witnessed), "--json")
        assert verified.returncode == 1
        problems = json.loads(verified.stdout)["problems"]
        assert [(p["kind"], p["index"], p["last_index"]) for p in problems] == [
            ("removed", size_at_backup, size_witnessed - 1)
        ]
        text = _helhet(config, "audit", "verify", "--checkpoint", str(witnessed)).stdout
        assert f"entries from {size_at_backup} on were removed" in text

        # reconcile lists the messages delivered after the backup: 7 whose disclosure entries
        # are lost, and 5 whose deliveries were not yet recorded in it.
        reconciled = _helhet(config, "audit", "reconcile", "--json")
        assert reconciled.returncode == 1
        report = json.loads(reconciled.stdout)
        lost = {m["message_id"] for m in report["unlogged"]}
        unrecorded = {m["message_id"] for m in report["unrecorded"]}
        assert (len(lost), len(unrecorded)) == (7, 5)
        assert lost | unrecorded == after
        assert all(m["disclosure_index"] >= size_at_backup for m in report["unlogged"])
        assert any("restored from an older backup" in cause for cause in report["causes"])

        # Resume: the 5 in-doubt messages are found on their topic, not sent again.
        marked = _helhet(config, "db", "restored")
        assert marked.returncode == 0 and marked.stdout.startswith("5 message(s)"), marked
        assert _relay_once(config) == "delivered 0"
        services = Services(instance)
        services.load()
        _post(services, people, 3)
        assert _relay_once(config) == "delivered 3"
        counts = topic_counts(kafka_bootstrap, topics)
        duplicates = sum(n - 1 for n in counts.values())
        record_fault(
            posted=25,
            delivered_before_backup=len(before),
            waiting_at_backup=5,
            delivered_after_backup=len(after),
            entries_lost=f"{size_at_backup}..{size_witnessed - 1}",
            listed_by_reconcile=len(lost | unrecorded),
            delivered_after_restore=3,
            on_topics=len(counts),
            duplicates=duplicates,
        )
        assert duplicates == 0 and len(counts) == 25
    finally:
        instance.close()
