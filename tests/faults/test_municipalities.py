"""Two municipalities on one cluster, as a county or national operator runs them: one broker, one
PostgreSQL server with a schema per instance (search_path in the database URL), each instance
its own keys and clients. Neither sees the other's data: topics, log, families, clients.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.db.tables import families
from gateway.delivery.reconcile import reconcile
from recipient.errors import RecipientError
from recipient.opening import EnvelopeOpener
from tests.helpers.gateway import Gateway, running_gateway
from tests.helpers.processes import all_topics, topic_counts
from tests.helpers.records import nav_card, nav_shares_employment_with_school
from tests.helpers.topics import raw_records


def _schema_url(postgres_url: str, schema: str) -> str:
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{postgres_url}?options=-csearch_path%3D{schema}"


def _share_with_school(gw: Gateway, person: str, born: str) -> str:
    family = gw.enrol([{"id": person, "role": "child", "birth_date": born}], ["nav", "school"])
    nav_shares_employment_with_school(gw, person)
    return family


def test_two_municipalities_on_one_broker_and_one_database_server(
    tmp_path: Path, postgres_url: str, kafka_bootstrap: str, record_fault: Callable[..., None]
) -> None:
    urls = {name: _schema_url(postgres_url, f"kommune_{name}") for name in ("a", "b")}
    for name in urls:
        (tmp_path / name).mkdir()
    with (
        running_gateway(tmp_path / "a", urls["a"], kafka_bootstrap) as a,
        running_gateway(tmp_path / "b", urls["b"], kafka_bootstrap) as b,
    ):
        assert a.settings.municipality != b.settings.municipality
        # The same young person is in a family in each municipality; NAV posts the same cards
        # to both instances (5 to a, 3 of them to b as well).
        person, born = a.person(19)
        family_a = _share_with_school(a, person, born.isoformat())
        family_b = _share_with_school(b, person, born.isoformat())
        cards = [nav_card(person, f"0e9d8c7b-6a5f-4e3d-8c2b-{n:012d}") for n in range(5)]
        for card in cards:
            assert a.post("nav", card, "application/json").status_code == 202
        for card in cards[:3]:
            assert b.post("nav", card, "application/json").status_code == 202
        assert a.relay().run_once().delivered == 5
        assert b.relay().run_once().delivered == 3

        received = {name: gw.receive("school") for name, gw in (("a", a), ("b", b))}
        assert [len(received["a"]), len(received["b"])] == [5, 3]
        assert {m.message.family_id for m in received["a"]} == {family_a}
        assert {m.message.family_id for m in received["b"]} == {family_b}
        assert set(all_topics(a.instance)).isdisjoint(all_topics(b.instance))
        # b's school cannot open a's messages: they are signed by a and sealed to a's school.
        opener = EnvelopeOpener(
            b.agency_keys["school"],
            b.instance.signing_key.public_key(),
            expected_recipient="school",
        )
        with pytest.raises(RecipientError):
            opener.open(raw_records(a, "school")[0][1])

        on_topics = {
            name: topic_counts(gw.settings.kafka_bootstrap_servers, all_topics(gw.instance))
            for name, gw in (("a", a), ("b", b))
        }
        assert set(on_topics["a"]).isdisjoint(on_topics["b"])
        for gw in (a, b):
            logged = {e.message_id for e in gw.log_entries() if e.event_type.value == "disclosure"}
            other = on_topics["b" if gw is a else "a"]
            assert logged and logged.isdisjoint(other)
            assert {e.family_id for e in gw.log_entries() if e.family_id} <= {family_a, family_b}
            with gw.engine.connect() as conn:
                report = reconcile(
                    conn, gw.settings.kafka_bootstrap_servers, all_topics(gw.instance)
                )
            assert report.clean and report.messages == len(logged), report.as_dict()

        # Each instance's families and clients are its own.
        assert a.count(families) == b.count(families) == 1
        with b.client("coordinator") as c:
            assert c.get(f"/v1/families/{family_a}").status_code == 404
        with b.client("nav") as c:
            c.headers["Authorization"] = f"Bearer {a.tokens['nav']}"
            assert c.post("/v1/records/nav", content=cards[0]).status_code == 401
        record_fault(
            posted={"a": 5, "b": 3},
            delivered={"a": len(received["a"]), "b": len(received["b"])},
            seen_by_the_other=0,
            duplicates=sum(n - 1 for c in on_topics.values() for n in c.values()),
        )
