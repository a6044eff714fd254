"""Tamper tests on SQLite and PostgreSQL: raw SQL edits, deletions, reorderings and insertions,
and swapped checkpoints, must make verify_log fail naming the right index or checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import append, issue_checkpoint, merkle, verify_log
from audit.checkpoint import Checkpoint, sign_checkpoint
from audit.verify import (
    CHANGED,
    CHECKPOINT_FORGED,
    CHECKPOINT_INCONSISTENT,
    INSERTED,
    REMOVED,
    REORDERED,
    VerifyReport,
)
from schemas.canonical import canonical_json
from tests.helpers.audit import T0, create_tables, entry

ORIGIN = "helhet/0301"
KEY = Ed25519PrivateKey.generate()
N = 20


@pytest.fixture
def engine(db_engine: sa.Engine) -> Iterator[sa.Engine]:
    create_tables(db_engine)
    with db_engine.begin() as conn:
        append(conn, [entry(i) for i in range(8)], now=T0)
        issue_checkpoint(conn, KEY, ORIGIN, T0)
    with db_engine.begin() as conn:
        append(conn, [entry(i) for i in range(8, N)], now=T0)
        issue_checkpoint(conn, KEY, ORIGIN, T0)
    yield db_engine


def verify(engine: sa.Engine, checkpoints: list[str] | None = None) -> VerifyReport:
    with engine.connect() as conn:
        return verify_log(conn, KEY.public_key(), ORIGIN, checkpoints or [])


def run(engine: sa.Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def read_row(engine: sa.Engine, idx: int) -> sa.Row[tuple[object, ...]]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM audit_entries WHERE idx = :i"), {"i": idx}).one()
    return row


def edited_leaf(engine: sa.Engine, idx: int, **changes: object) -> bytes:
    doc = json.loads(bytes(read_row(engine, idx).leaf))
    doc.update(changes)
    return canonical_json(doc)


def kinds_at(report: VerifyReport, kind: str) -> list[int]:
    return report.indexes(kind)


def test_untouched_log_verifies(engine: sa.Engine) -> None:
    report = verify(engine)
    assert report.ok, report.summary()
    assert report.entries == N
    assert report.checkpoints_checked == 2
    assert report.summary().startswith("OK")


def test_edited_column_is_named(engine: sa.Engine) -> None:
    run(engine, "UPDATE audit_entries SET recipient = 'child_welfare' WHERE idx = 5")
    report = verify(engine)
    assert not report.ok
    assert kinds_at(report, CHANGED) == [5]
    assert "column recipient" in report.summary()


def test_edited_subject_column_cannot_hide_an_entry(engine: sa.Engine) -> None:
    run(engine, "UPDATE audit_entries SET subject = NULL WHERE idx = 12")
    assert kinds_at(verify(engine), CHANGED) == [12]


def test_edited_leaf_is_named(engine: sa.Engine) -> None:
    leaf = edited_leaf(engine, 9, recipient="child_welfare")
    run(engine, "UPDATE audit_entries SET leaf = :leaf WHERE idx = 9", leaf=leaf)
    report = verify(engine)
    assert kinds_at(report, CHANGED) == [9]
    # The signed checkpoint covering entry 9 no longer matches either.
    assert [p.checkpoint for p in report.problems if p.kind == CHECKPOINT_INCONSISTENT] == [
        "checkpoint #2"
    ]


def test_edited_leaf_with_rewritten_hash_and_columns_is_located(engine: sa.Engine) -> None:
    leaf = edited_leaf(engine, 5, recipient="child_welfare")
    run(
        engine,
        "UPDATE audit_entries SET leaf = :leaf, leaf_hash = :h, recipient = 'child_welfare' "
        "WHERE idx = 5",
        leaf=leaf,
        h=merkle.leaf_hash(leaf),
    )
    report = verify(engine)
    changed = [p for p in report.problems if p.kind == CHANGED]
    assert len(changed) == 1
    assert changed[0].index is not None and changed[0].last_index is not None
    assert changed[0].index <= 5 <= changed[0].last_index
    assert changed[0].last_index - changed[0].index <= 1
    assert {p.checkpoint for p in report.problems if p.kind == CHECKPOINT_INCONSISTENT} == {
        "checkpoint #1",
        "checkpoint #2",
    }


def test_deleted_row_is_named(engine: sa.Engine) -> None:
    run(engine, "DELETE FROM audit_entries WHERE idx = 6")
    report = verify(engine)
    assert not report.ok
    assert kinds_at(report, REMOVED) == [6]
    assert kinds_at(report, REORDERED) == []


def test_deleted_and_renumbered_row_is_named(engine: sa.Engine) -> None:
    run(engine, "DELETE FROM audit_entries WHERE idx = 6")
    for idx in range(7, N):
        run(engine, "UPDATE audit_entries SET idx = :new WHERE idx = :old", new=idx - 1, old=idx)
    run(engine, "UPDATE audit_head SET size = :n", n=N - 1)
    report = verify(engine)
    assert kinds_at(report, REMOVED) == [6]
    assert kinds_at(report, REORDERED) == []


def test_truncated_log_is_named_by_the_checkpoint(engine: sa.Engine) -> None:
    run(engine, "DELETE FROM audit_entries WHERE idx >= 17")
    run(engine, "UPDATE audit_head SET size = 17")
    report = verify(engine)
    assert 17 in kinds_at(report, REMOVED)


def test_swapped_rows_are_named_as_reordered(engine: sa.Engine) -> None:
    a, b = read_row(engine, 3), read_row(engine, 7)
    for target, src in ((3, b), (7, a)):
        run(
            engine,
            "UPDATE audit_entries SET leaf = :leaf, leaf_hash = :h, recipient = :r, "
            "subject = :s, categories = :c, message_id = :m, outcome = :o, source = :src "
            "WHERE idx = :i",
            leaf=bytes(src.leaf),
            h=bytes(src.leaf_hash),
            r=src.recipient,
            s=src.subject,
            c=src.categories,
            m=src.message_id,
            o=src.outcome,
            src=src.source,
            i=target,
        )
    report = verify(engine)
    assert kinds_at(report, REORDERED) == [3, 7]
    assert kinds_at(report, CHANGED) == []


def test_inserted_row_is_named(engine: sa.Engine) -> None:
    for idx in range(N - 1, 5, -1):
        run(engine, "UPDATE audit_entries SET idx = :new WHERE idx = :old", new=idx + 1, old=idx)
    forged = read_row(engine, 5)
    leaf = edited_leaf(engine, 5, index=6, message_id="msg-forged")
    run(
        engine,
        "INSERT INTO audit_entries (idx, recorded_at, event_type, source, recipient, subject, "
        "categories, outcome, message_id, leaf, leaf_hash, nodes) VALUES (6, :t, :e, :src, :r, "
        ":s, :c, :o, 'msg-forged', :leaf, :h, :nodes)",
        t=forged.recorded_at,
        e=forged.event_type,
        src=forged.source,
        r=forged.recipient,
        s=forged.subject,
        c=forged.categories,
        o=forged.outcome,
        leaf=leaf,
        h=merkle.leaf_hash(leaf),
        nodes=b"",
    )
    run(engine, "UPDATE audit_head SET size = :n", n=N + 1)
    report = verify(engine)
    assert kinds_at(report, INSERTED) == [6]
    assert kinds_at(report, REORDERED) == []
    assert kinds_at(report, REMOVED) == []


def test_row_appended_behind_the_logs_back_is_named(engine: sa.Engine) -> None:
    last = read_row(engine, N - 1)
    leaf = edited_leaf(engine, N - 1, index=N)
    run(
        engine,
        "INSERT INTO audit_entries (idx, recorded_at, event_type, source, recipient, subject, "
        "categories, outcome, message_id, leaf, leaf_hash, nodes) VALUES (:i, :t, :e, :src, :r, "
        ":s, :c, :o, :m, :leaf, :h, :nodes)",
        i=N,
        t=last.recorded_at,
        e=last.event_type,
        src=last.source,
        r=last.recipient,
        s=last.subject,
        c=last.categories,
        o=last.outcome,
        m=last.message_id,
        leaf=leaf,
        h=merkle.leaf_hash(leaf),
        nodes=b"",
    )
    report = verify(engine)
    assert kinds_at(report, INSERTED) == [N]


def test_checkpoint_swapped_for_one_by_another_key_is_forged(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        size, root = conn.execute(
            sa.text("SELECT size, root FROM audit_checkpoints WHERE id = 2")
        ).one()
    other = sign_checkpoint(
        Checkpoint(ORIGIN, int(size), bytes(root)), Ed25519PrivateKey.generate()
    )
    run(engine, "UPDATE audit_checkpoints SET note = :n WHERE id = 2", n=other)
    report = verify(engine)
    assert [p.checkpoint for p in report.problems if p.kind == CHECKPOINT_FORGED] == [
        "checkpoint #2"
    ]


def test_checkpoint_swapped_for_a_fork_is_inconsistent(engine: sa.Engine) -> None:
    fork = sign_checkpoint(Checkpoint(ORIGIN, 8, b"\x05" * 32), KEY)
    run(
        engine,
        "UPDATE audit_checkpoints SET note = :n, root = :r WHERE id = 1",
        n=fork,
        r=b"\x05" * 32,
    )
    report = verify(engine)
    assert [p.checkpoint for p in report.problems if p.kind == CHECKPOINT_INCONSISTENT] == [
        "checkpoint #1"
    ]
    assert report.indexes() == []


def test_given_checkpoints_are_checked(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        note = conn.execute(sa.text("SELECT note FROM audit_checkpoints WHERE id = 1")).scalar()
    assert verify(engine, [str(note)]).ok
    fork = sign_checkpoint(Checkpoint(ORIGIN, 10, b"\x05" * 32), KEY)
    forged = sign_checkpoint(Checkpoint(ORIGIN, 10, b"\x05" * 32), Ed25519PrivateKey.generate())
    ahead = sign_checkpoint(Checkpoint(ORIGIN, N + 5, b"\x05" * 32), KEY)
    report = verify(engine, [str(note), fork, forged, ahead])
    by_kind = {(p.kind, p.checkpoint) for p in report.problems}
    assert by_kind == {
        (CHECKPOINT_INCONSISTENT, "given checkpoint 2"),
        (CHECKPOINT_FORGED, "given checkpoint 3"),
        (REMOVED, "given checkpoint 4"),
    }
    assert kinds_at(report, REMOVED) == [N]


def test_progress_is_reported_up_to_the_number_of_entries(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("audit.verify.PROGRESS_EVERY", 8)
    seen: list[int] = []
    with engine.connect() as conn:
        report = verify_log(conn, KEY.public_key(), ORIGIN, progress=seen.append)
    assert report.ok
    assert seen == [8, 16, N]
