"""A real gateway for end-to-end tests: instance files, migrated database, clients, recipients'
keys, the app on a real HTTP server, the relay driven step by step, receivers on real topics.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from audit import log as audit_log
from gateway.api.app import create_app
from gateway.api.clients import Role, add_client
from gateway.api.server import running_server
from gateway.config import keys
from gateway.config.instance import Instance, open_instance
from gateway.config.settings import load_settings
from gateway.db import migrate
from gateway.delivery.relay import Relay
from gateway.kafka.publisher import KafkaPublisher, Publisher
from recipient.receiver import Receiver
from schemas import Agency
from schemas.synthetic import synthetic_fnr

NOW = dt.datetime.now(dt.UTC)


@dataclass
class Gateway:
    instance: Instance
    base_url: str
    app: Any
    tokens: dict[str, str]
    agency_keys: dict[str, X25519PrivateKey]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    people: set[str] = field(default_factory=set)
    relays: list[Relay] = field(default_factory=list)

    @property
    def settings(self) -> Any:
        return self.instance.settings

    @property
    def engine(self) -> sa.Engine:
        return self.instance.engine

    @property
    def services(self) -> Any:
        return self.app.state.services

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=30,
        )

    def relay(self, publisher: Publisher | None = None) -> Relay:
        relay = Relay(
            self.services,
            publisher
            or KafkaPublisher(
                self.settings.kafka_bootstrap_servers,
                request_timeout_ms=self.settings.kafka_request_timeout_ms,
            ),
        )
        self.relays.append(relay)
        return relay

    def close(self) -> None:
        for relay in self.relays:
            relay.publisher.close()

    def person(self, age_years: int, *, days: int = 0) -> tuple[str, dt.date]:
        """A new person of this age, never one this gateway handed out before (people born the
        same day share few numbers: a repeat would carry an earlier test's consents along)."""
        today = dt.date.today()
        born = today.replace(year=today.year - age_years) - dt.timedelta(days=days)
        while True:
            number = synthetic_fnr(born, self.rng)
            if number not in self.people:
                self.people.add(number)
                return number, born

    def enrol(self, members: list[dict[str, Any]], team: list[str]) -> str:
        with self.client("coordinator") as c:
            response = c.post(
                "/v1/families",
                json={
                    "members": members,
                    "team": team,
                    "coordinator": {"agency": "family_centre", "name": "Test Koordinator"},
                },
            )
        assert response.status_code == 201, response.text
        return str(response.json()["family_id"])

    def consent(self, **fields: Any) -> str:
        """Record a consent as the coordinator's API does (store + `consent` log entry)."""
        from consent.models import ConsentIn
        from gateway.intake.consents import record_consent

        body = {
            "purpose": "family_plan",
            "evidence": {"method": "written", "reference": "test"},
            **fields,
        }
        with self.engine.begin() as conn:
            record = record_consent(
                self.services,
                conn,
                ConsentIn.model_validate(body),
                client="coordinator",
                now=dt.datetime.now(dt.UTC),
            )
        return record.consent_id

    def withdraw(self, consent_id: str) -> int:
        """Withdraw as the coordinator's API does; return the number of notices queued."""
        from gateway.intake.consents import withdraw_consent

        with self.engine.begin() as conn:
            _, notices = withdraw_consent(
                self.services,
                conn,
                consent_id,
                reason="test",
                client="coordinator",
                now=dt.datetime.now(dt.UTC),
            )
        return notices

    def post(self, agency: str, body: bytes, content_type: str, **headers: str) -> httpx.Response:
        with self.client(agency) as c:
            return c.post(
                f"/v1/records/{agency}",
                content=body,
                headers={"Content-Type": content_type, **headers},
            )

    def receive(self, agency: str, *, timeout_s: float = 4.0) -> list[Any]:
        with Receiver(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(agency),
            self.agency_keys[agency],
            self.instance.signing_key.public_key(),
            from_beginning=True,
            expected_recipient=agency,
        ) as receiver:
            return list(receiver.iter_messages(timeout_s=timeout_s))

    def log_entries(self) -> list[Any]:
        with self.engine.connect() as conn:
            size = audit_log.tree_size(conn)
            return [audit_log.get_entry(conn, i) for i in range(size)]

    def count(self, table: sa.Table, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(*where)
                ).scalar_one()
            )


_USED_MUNICIPALITIES: set[str] = set()


def _unused_municipality() -> str:
    """A municipality number no other gateway of this test session has: its topics are its own
    on the session's shared broker. (9000-9999 are left to tests/recipient/test_receiver.py.)"""
    while True:
        number = f"{secrets.randbelow(8000) + 1000}"
        if number not in _USED_MUNICIPALITIES:
            _USED_MUNICIPALITIES.add(number)
            return number


def make_instance(
    tmp_path: Path, database_url: str, kafka: str, extra_toml: str = ""
) -> tuple[Instance, dict[str, X25519PrivateKey]]:
    """A migrated test instance; `extra_toml` is appended to its helhet.toml (tables last)."""
    municipality = _unused_municipality()
    directory = tmp_path / "instance"
    directory.mkdir()
    (directory / "helhet.toml").write_text(
        f'municipality = "{municipality}"\nmunicipality_name = "Testby"\nenvironment = "test"\n'
        f'allow_synthetic_ids = true\ndatabase_url = "{database_url}"\n'
        f'kafka_bootstrap_servers = "{kafka}"\nkafka_topic_partitions = 2\n'
        "kafka_request_timeout_ms = 3000\n"
        "relay_enabled = false\nplan_sweep_interval_seconds = 0\n" + extra_toml
    )
    keys.generate_signing_key(directory / "keys" / "gateway-signing.pem")
    keys.generate_secret(directory / "keys" / "pseudonym.key")
    agency_keys = {
        a.value: keys.generate_agency_keypair(
            directory / "private" / f"{a.value}.key",
            directory / "agency-keys" / f"{a.value}.pub.pem",
        )
        for a in Agency
    }
    instance = open_instance(load_settings(directory / "helhet.toml"))
    migrate.upgrade(instance.engine)
    return instance, agency_keys


def add_clients(instance: Instance) -> dict[str, str]:
    """A client per agency, a coordinator, a privacy officer and an operator: their tokens."""
    tokens = {}
    with instance.engine.begin() as conn:
        for agency in Agency:
            tokens[agency.value] = add_client(
                conn, f"{agency.value}-system", Role.AGENCY, agency.value, now=NOW
            ).token
        tokens["coordinator"] = add_client(
            conn, "coordinator", Role.COORDINATOR, None, now=NOW
        ).token
        tokens["privacy_officer"] = add_client(
            conn, "dpo", Role.PRIVACY_OFFICER, None, now=NOW
        ).token
        tokens["operator"] = add_client(conn, "ops", Role.OPERATOR, None, now=NOW).token
    return tokens


@contextmanager
def running_gateway(
    tmp_path: Path, database_url: str, kafka: str, extra_toml: str = ""
) -> Iterator[Gateway]:
    instance, agency_keys = make_instance(tmp_path, database_url, kafka, extra_toml)
    tokens = add_clients(instance)
    app = create_app(instance)
    gateway = None
    try:
        with running_server(app) as base:
            gateway = Gateway(instance, base, app, tokens, agency_keys)
            yield gateway
    finally:
        if gateway is not None:
            gateway.close()
        instance.close()
