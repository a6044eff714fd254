"""The consent registry on SQLite and PostgreSQL: versions, withdrawal, reads, and index
freshness across two engines (as two gateway processes) on the same database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from consent import (
    AlreadyWithdrawn,
    ConsentIn,
    ConsentIndex,
    InvalidConsent,
    PersonFacts,
    Reason,
    UnknownConsent,
    store,
)
from consent.tables import metadata
from gateway.db.engine import create_engine
from tests.helpers.consent import CHILD, FATHER, MOTHER, consent_body, fnr

NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
FACTS = PersonFacts.of(CHILD, dt.date(2010, 5, 17), [MOTHER, FATHER])


@pytest.fixture
def engine(db_engine: sa.Engine) -> Iterator[sa.Engine]:
    with db_engine.begin() as conn:
        metadata.create_all(conn)
    yield db_engine


def new(**overrides: object) -> ConsentIn:
    return ConsentIn.model_validate(consent_body(**overrides))


def test_record_assigns_id_version_and_defaults(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        recorded = store.record(conn, new(valid_from=None), recorded_by="coord-a", now=NOW)
    assert recorded.version == 1
    assert recorded.status == "active"
    assert recorded.valid_from == NOW
    assert recorded.recorded_by == "coord-a"
    with engine.connect() as conn:
        assert store.get(conn, recorded.consent_id) == recorded
    fields = recorded.audit_fields()
    assert fields["consent_id"] == recorded.consent_id
    assert fields["subject"] == CHILD
    assert fields["categories"] == ["*"]


def test_withdrawal_is_a_new_version_and_history_keeps_both(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        first = store.record(conn, new(), recorded_by="coord-a", now=NOW)
        second = store.withdraw(
            conn, first.consent_id, by="coord-b", reason="the family asked", now=LATER
        )
    assert (second.version, second.status) == (2, "withdrawn")
    assert second.withdrawal_reason == "the family asked"
    assert second.recorded_at == LATER
    with engine.connect() as conn:
        assert [r.version for r in store.history(conn, first.consent_id)] == [1, 2]
        assert store.get(conn, first.consent_id, 1) == first
        assert store.get(conn, first.consent_id).status == "withdrawn"


def test_errors_for_unknown_ids_double_withdrawal_and_ended_consents(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        first = store.record(conn, new(), recorded_by="coord-a", now=NOW)
        store.withdraw(conn, first.consent_id, by="coord-a", reason="asked", now=LATER)
    with engine.begin() as conn:
        with pytest.raises(AlreadyWithdrawn) as caught:
            store.withdraw(conn, first.consent_id, by="coord-a", reason="again", now=LATER)
        assert caught.value.status == 409
        with pytest.raises(UnknownConsent) as unknown:
            store.withdraw(conn, "no-such-consent", by="coord-a", reason="x", now=LATER)
        assert unknown.value.status == 404
        with pytest.raises(UnknownConsent):
            store.get(conn, first.consent_id, version=3)
        with pytest.raises(UnknownConsent):
            store.history(conn, "no-such-consent")
        with pytest.raises(InvalidConsent) as ended:
            store.record(
                conn, new(valid_until="2025-02-01T00:00:00Z"), recorded_by="coord-a", now=NOW
            )
        assert (ended.value.field, ended.value.status) == ("valid_until", 422)
        with pytest.raises(InvalidConsent):
            store.record(conn, new(), recorded_by="coord-a", now=NOW.replace(tzinfo=None))


def test_subject_lists_and_the_change_sequence(engine: sa.Engine) -> None:
    sibling = fnr(dt.date(2013, 8, 2))
    with engine.begin() as conn:
        a = store.record(conn, new(), recorded_by="c", now=NOW)
        b = store.record(conn, new(subject=sibling), recorded_by="c", now=NOW)
        c = store.record(conn, new(categories=["employment"]), recorded_by="c", now=NOW)
        seq_before = store.last_seq(conn)
        a2 = store.withdraw(conn, a.consent_id, by="c", reason="asked", now=LATER)
    with engine.connect() as conn:
        # The latest version of each consent, once, in the order first recorded.
        assert store.list_for_subject(conn, CHILD) == [a2, c]
        assert store.list_for_subject(conn, sibling) == [b]
        assert store.list_for_subject(conn, fnr(dt.date(2001, 1, 1))) == []
        # Every version, in sequence order.
        everything = list(store.documents_since(conn, 0))
        assert [(d["consent_id"], d["version"]) for _, d in everything] == [
            (a.consent_id, 1),
            (b.consent_id, 1),
            (c.consent_id, 1),
            (a.consent_id, 2),
        ]
        seqs = [seq for seq, _ in everything]
        assert seqs == sorted(set(seqs))
        last = store.last_seq(conn)
        assert seqs[-1] == last
        assert list(store.documents_since(conn, seq_before)) == [(last, a2.model_dump(mode="json"))]
        assert list(store.documents_since(conn, last)) == []


def test_a_rolled_back_recording_leaves_nothing(engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        store.record(conn, new(), recorded_by="c", now=NOW)
        raise RuntimeError("the audit entry failed")
    with engine.connect() as conn:
        assert list(store.documents_since(conn, 0)) == []
        assert store.list_for_subject(conn, CHILD) == []
        assert store.last_seq(conn) == 0


def test_a_withdrawal_by_one_process_is_honoured_by_another_before_its_next_forward(
    engine: sa.Engine, database_url: str
) -> None:
    other = create_engine(database_url)  # a second gateway process: its own engine and pool
    try:
        first, second = ConsentIndex(), ConsentIndex()
        with engine.begin() as conn:
            recorded = store.record(conn, new(), recorded_by="coord-a", now=NOW)
        with engine.connect() as conn:
            assert first.load(conn) == 1
        with other.connect() as conn:
            assert second.load(conn) == 1
            assert second.refresh(conn) == 0  # nothing new: one empty range query
        ask = (CHILD, "school", "health", "education.support", "family_plan", LATER, FACTS)
        assert first.decide(*ask).permit and second.decide(*ask).permit
        with other.begin() as conn:  # process 2 records the withdrawal
            store.withdraw(conn, recorded.consent_id, by="coord-b", reason="asked", now=LATER)
        with engine.connect() as conn:  # process 1 refreshes before its next forward
            assert first.refresh(conn) == 1
        decision = first.decide(*ask)
        assert (decision.permit, decision.reason) == (False, Reason.WITHDRAWN)
        assert decision.consent_version == 2
        with other.connect() as conn:
            second.refresh(conn)
        assert second.decide(*ask).reason is Reason.WITHDRAWN
        assert first.seq == second.seq
    finally:
        other.dispose()


def test_the_index_loads_latest_versions_only(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        kept = store.record(conn, new(), recorded_by="c", now=NOW)
        gone = store.record(conn, new(), recorded_by="c", now=NOW)
        store.withdraw(conn, gone.consent_id, by="c", reason="asked", now=LATER)
    index = ConsentIndex()
    with engine.connect() as conn:
        assert index.load(conn) == 2
    assert index.consents_of(CHILD) == sorted([(kept.consent_id, 1), (gone.consent_id, 2)])


def test_concurrent_withdrawals_serialise_and_the_second_is_refused(
    engine: sa.Engine, database_url: str
) -> None:
    import threading

    with engine.begin() as conn:
        recorded = store.record(conn, new(), recorded_by="c", now=NOW)
    other = create_engine(database_url)
    holding, outcome = threading.Event(), {}

    def second_process() -> None:
        holding.wait(10)
        try:
            with other.begin() as conn:
                store.withdraw(conn, recorded.consent_id, by="p2", reason="asked", now=LATER)
            outcome["p2"] = "withdrew"
        except AlreadyWithdrawn:
            outcome["p2"] = "refused"

    thread = threading.Thread(target=second_process)
    thread.start()
    try:
        with engine.begin() as conn:
            store.withdraw(conn, recorded.consent_id, by="p1", reason="asked", now=LATER)
            holding.set()  # p2 now tries, and waits on our lock until we commit
            thread.join(0.5)
        thread.join(30)
    finally:
        other.dispose()
    assert outcome == {"p2": "refused"}
    with engine.connect() as conn:
        assert [r.recorded_by for r in store.history(conn, recorded.consent_id)] == ["c", "p1"]
