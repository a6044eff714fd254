"""The gateway end to end against a bare producer (DESIGN §11).

HTTP batches in (NDJSON of NAV activity cards) -> consent -> sealed messages -> durable log and
outbox (SQLite) -> relay -> Kafka, timed until every message is acknowledged; then a bare
kafka-python producer (acks=all, idempotent) sends the same number of same-sized messages to the
same broker. Prints a table and writes JSON.

    python benchmarks/bench_gateway.py [--families 200] [--records 4000] [--batch 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from kafka import KafkaProducer

from gateway.api.app import create_app
from gateway.api.clients import Role, add_client
from gateway.api.server import running_server
from gateway.config import keys
from gateway.config.instance import open_instance
from gateway.config.settings import load_settings
from gateway.db import migrate
from gateway.db.tables import outbox
from gateway.kafka.broker import EmbeddedBroker
from schemas import Agency
from schemas.synthetic import synthetic_fnr


def card(person: str, n: int) -> str:
    return json.dumps(
        {
            "messageId": f"00000000-0000-4000-8000-{n:012d}",
            "source": "TEAM_TILTAK",
            "actionType": "UPSERT_AKTIVITETSKORT_V1",
            "aktivitetskortType": "ARBEIDSTRENING",
            "aktivitetskort": {
                "id": f"10000000-0000-4000-8000-{n:012d}",
                "personIdent": person,
                "tittel": "Arbeidstrening",
                "beskrivelse": "Arbeidstrening tre dager i uka, butikkdrift.",
                "aktivitetStatus": "GJENNOMFORES",
                "startDato": "2026-02-03",
                "sluttDato": "2026-08-01",
                "endretAv": {"ident": "Z990001", "identType": "NAVIDENT"},
                "endretTidspunkt": "2026-02-03T09:15:00",
                "avtaltMedNav": True,
            },
        }
    )


def run(families: int, records: int, batch: int) -> dict[str, object]:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        directory = Path(tmp)
        (directory / "helhet.toml").write_text(
            'municipality = "4698"\nenvironment = "test"\nallow_synthetic_ids = true\n'
            f'database_url = "sqlite:///bench.db"\nkafka_bootstrap_servers = '
            f'"{broker.bootstrap_servers}"\nrelay_poll_interval = 0.05\nrelay_batch_size = 500\n'
            "checkpoint_interval_seconds = 3600\n"
        )
        keys.generate_signing_key(directory / "keys" / "gateway-signing.pem")
        keys.generate_secret(directory / "keys" / "pseudonym.key")
        for agency in Agency:
            keys.generate_agency_keypair(
                directory / "private" / f"{agency.value}.key",
                directory / "agency-keys" / f"{agency.value}.pub.pem",
            )
        instance = open_instance(load_settings(directory / "helhet.toml"))
        migrate.upgrade(instance.engine)
        now = dt.datetime.now(dt.UTC)
        with instance.engine.begin() as conn:
            nav = add_client(conn, "nav", Role.AGENCY, "nav", now=now).token
            coordinator = add_client(conn, "c", Role.COORDINATOR, None, now=now).token
        app = create_app(instance)
        with running_server(app) as base, httpx.Client(base_url=base, timeout=120) as http:
            persons = []
            for _ in range(families):
                born = dt.date(2004, 1, 1) + dt.timedelta(days=rng.randrange(0, 1500))
                person = synthetic_fnr(born, rng)
                persons.append(person)
                http.post(
                    "/v1/families",
                    headers={"Authorization": f"Bearer {coordinator}"},
                    json={
                        "members": [
                            {"id": person, "role": "child", "birth_date": born.isoformat()}
                        ],
                        "team": ["nav", "school"],
                        "coordinator": {"agency": "fs", "name": "Bench"},
                    },
                ).raise_for_status()
                http.post(
                    "/v1/consents",
                    headers={"Authorization": f"Bearer {coordinator}"},
                    json={
                        "subject": person,
                        "given_by": [person],
                        "sources": ["nav"],
                        "recipients": ["school"],
                        "categories": ["employment"],
                        "evidence": {"method": "written", "reference": "bench"},
                    },
                ).raise_for_status()
            bodies = [
                "\n".join(card(persons[(i + j) % families], i + j) for j in range(batch))
                for i in range(0, records, batch)
            ]
            start = time.perf_counter()
            for body in bodies:
                http.post(
                    "/v1/records/nav",
                    content=body.encode(),
                    headers={
                        "Authorization": f"Bearer {nav}",
                        "Content-Type": "application/x-ndjson",
                    },
                ).raise_for_status()
            accepted = time.perf_counter() - start
            while True:
                with instance.engine.connect() as conn:
                    waiting = conn.execute(
                        sa.select(sa.func.count())
                        .select_from(outbox)
                        .where(outbox.c.status != "delivered")
                    ).scalar_one()
                if waiting == 0:
                    break
                time.sleep(0.05)
            delivered = time.perf_counter() - start
            with instance.engine.connect() as conn:
                messages = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
            envelope_bytes = 3500  # a sealed one-item PlanUpdate (see bench_sealing)
        instance.close()

        producer = KafkaProducer(
            bootstrap_servers=broker.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        value = b"x" * envelope_bytes
        start = time.perf_counter()
        futures = [
            producer.send("bench.bare", key=str(i % families).encode(), value=value)
            for i in range(messages)
        ]
        producer.flush()
        for future in futures:
            future.get(timeout=60)
        bare = time.perf_counter() - start
        producer.close()
    return {
        "families": families,
        "records": records,
        "batch": batch,
        "messages": messages,
        "gateway_accept_s": round(accepted, 3),
        "gateway_end_to_end_s": round(delivered, 3),
        "gateway_records_per_s": round(records / delivered, 1),
        "gateway_messages_per_s": round(messages / delivered, 1),
        "bare_producer_s": round(bare, 3),
        "bare_messages_per_s": round(messages / bare, 1),
        "gateway_vs_bare": round(delivered / bare, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=200)
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--json", default=".bench/gateway.json")
    args = parser.parse_args()
    result = run(args.families, args.records, args.batch)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
