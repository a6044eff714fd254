"""Appending to the log on SQLite and PostgreSQL: indexes, roots, proofs, errors, transactions."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from audit import (
    BadRange,
    InvalidEntry,
    UnknownIndex,
    append,
    consistency_proof,
    get_entry,
    inclusion_proof,
    merkle,
    root,
    tree_size,
)
from audit.entries import LogEntry
from audit.tables import audit_entries
from tests.helpers.audit import T0, create_tables, entry


@pytest.fixture
def engine(db_engine: sa.Engine) -> sa.Engine:
    create_tables(db_engine)
    return db_engine


def all_leaf_hashes(conn: sa.Connection) -> list[bytes]:
    rows = conn.execute(sa.select(audit_entries.c.leaf).order_by(audit_entries.c.idx))
    return [merkle.leaf_hash(bytes(r.leaf)) for r in rows]


def test_empty_log(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert tree_size(conn) == 0
        assert root(conn, 0) == merkle.EMPTY_ROOT
        with pytest.raises(UnknownIndex):
            get_entry(conn, 0)
        with pytest.raises(BadRange):
            root(conn, 1)


def test_append_in_batches_gives_consecutive_indexes_and_rfc_roots(engine: sa.Engine) -> None:
    batches = [1, 2, 5, 1, 8, 13]
    got: list[int] = []
    n = 0
    for size in batches:
        with engine.begin() as conn:
            got += append(conn, [entry(n + i) for i in range(size)], now=T0)
        n += size
    assert got == list(range(n))
    with engine.connect() as conn:
        assert tree_size(conn) == n
        hashes = all_leaf_hashes(conn)
        for size in range(n + 1):
            assert root(conn, size) == merkle.root_from_leaf_hashes(hashes[:size])
        stored = get_entry(conn, 7)
        assert isinstance(stored, LogEntry)
        assert stored.index == 7
        assert stored.message_id == "msg-7"
        assert stored.recorded_at == T0
        assert stored.leaf_hash == hashes[7]


def test_every_inclusion_and_consistency_proof_verifies(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        append(conn, [entry(i) for i in range(11)], now=T0)
    with engine.begin() as conn:
        append(conn, [entry(i) for i in range(11, 21)], now=T0)
    with engine.connect() as conn:
        n = tree_size(conn)
        roots = [root(conn, s) for s in range(n + 1)]
        for size in range(1, n + 1):
            for index in range(size):
                proof = inclusion_proof(conn, index, size)
                proof.verify(roots[size])
                assert proof.as_dict()["leaf_index"] == index
        for old in range(n + 1):
            for new in range(old, n + 1):
                consistency_proof(conn, old, new).verify(roots[old], roots[new])
        # A proof checked against the wrong tree or for the wrong entry is refused.
        proof = inclusion_proof(conn, 3, 9)
        with pytest.raises(merkle.InvalidProof):
            proof.verify(roots[10])
        with pytest.raises(BadRange):
            inclusion_proof(conn, 9, 9)
        with pytest.raises(UnknownIndex):
            inclusion_proof(conn, n, n)
        with pytest.raises(BadRange):
            consistency_proof(conn, 5, n + 1)
        with pytest.raises(BadRange):
            consistency_proof(conn, 6, 5)


def test_rolled_back_append_leaves_no_trace(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        append(conn, [entry(0)], now=T0)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        append(conn, [entry(1), entry(2)], now=T0)
        raise RuntimeError("the caller's outbox write failed")
    with engine.begin() as conn:
        assert tree_size(conn) == 1
        assert append(conn, [entry(3)], now=T0) == [1]
        assert get_entry(conn, 1).message_id == "msg-3"


def test_append_refuses_naive_times_and_wrong_types(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(InvalidEntry):
            append(conn, [entry(0)], now=dt.datetime(2025, 1, 1))
        with pytest.raises(InvalidEntry):
            append(conn, [{"event_type": "disclosure"}], now=T0)  # type: ignore[list-item]
        assert append(conn, [], now=T0) == []


def test_entries_with_floats_and_unicode_details_round_trip(engine: sa.Engine) -> None:
    odd = entry(0, details={"offset": 17, "ratio": 0.1, "ø": "blåbær", "emoji": "\U0001f600"})
    with engine.begin() as conn:
        append(conn, [odd], now=T0)
    with engine.connect() as conn:
        stored = get_entry(conn, 0)
        assert stored.details == odd.details
        inclusion_proof(conn, 0, 1).verify(root(conn, 1))
