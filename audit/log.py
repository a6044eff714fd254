"""Appending entries to the log and reading sizes, roots, entries and proofs from it.

Everything works on the caller's Connection and transaction; appends lock the audit_head row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from audit import merkle
from audit.encoding import b64
from audit.entries import Entry, LogEntry, categories_json, format_time, leaf_bytes
from audit.errors import BadRange, InvalidEntry, UnknownIndex, VerificationFailed
from audit.merkle import HASH_SIZE, NodeKey
from audit.tables import audit_entries, audit_head

_IN_CHUNK = 500


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 9162 inclusion proof of one leaf in the tree of `tree_size` leaves."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": b64(self.leaf_hash),
            "hashes": [b64(h) for h in self.hashes],
        }

    def verify(self, root: bytes) -> None:
        merkle.verify_inclusion(self.leaf_index, self.tree_size, self.leaf_hash, self.hashes, root)


@dataclass(frozen=True)
class ConsistencyProof:
    """An RFC 9162 consistency proof from tree size `old` to tree size `new`."""

    old: int
    new: int
    hashes: list[bytes]

    def as_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "hashes": [b64(h) for h in self.hashes]}

    def verify(self, old_root: bytes, new_root: bytes) -> None:
        merkle.verify_consistency(self.old, self.new, self.hashes, old_root, new_root)


# --- the head row ---------------------------------------------------------------------------


def _insert_head_if_absent(conn: sa.Connection) -> None:
    values = {"id": 1, "size": 0, "root": merkle.EMPTY_ROOT}
    name = conn.dialect.name
    if name == "postgresql":
        conn.execute(postgresql.insert(audit_head).values(values).on_conflict_do_nothing())
    elif name == "sqlite":
        conn.execute(sqlite.insert(audit_head).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        if conn.execute(sa.select(audit_head.c.id)).first() is None:
            conn.execute(audit_head.insert().values(values))


def lock_head(conn: sa.Connection) -> tuple[int, bytes]:
    """Take the log's write lock for this transaction; return (size, root).

    PostgreSQL: SELECT … FOR UPDATE on the single head row (other appenders wait until this
    transaction ends, then read the new head under READ COMMITTED). SQLite: the first write of
    the transaction takes the database's write lock (the gateway begins transactions IMMEDIATE
    anyway), so the UPDATE below comes before any read.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(
            sa.update(audit_head).where(audit_head.c.id == 1).values(size=audit_head.c.size)
        )
    stmt = sa.select(audit_head.c.size, audit_head.c.root).where(audit_head.c.id == 1)
    row = conn.execute(stmt.with_for_update()).first()
    if row is None:
        _insert_head_if_absent(conn)
        row = conn.execute(stmt.with_for_update()).first()
        assert row is not None
    return int(row.size), bytes(row.root)


def tree_size(conn: sa.Connection) -> int:
    """The number of entries in the log (without locking)."""
    size = conn.execute(sa.select(audit_head.c.size).where(audit_head.c.id == 1)).scalar()
    return int(size or 0)


# --- stored nodes ---------------------------------------------------------------------------


def node_row(key: NodeKey) -> int:
    """The entry row that stores perfect subtree (level, index)."""
    level, index = key
    return ((index + 1) << level) - 1


def fetch_nodes(conn: sa.Connection, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """Read perfect-subtree hashes from the entry rows that store them (one query per 500)."""
    wanted = set(keys)
    rows: dict[int, tuple[bytes, bytes]] = {}
    needed = sorted({node_row(k) for k in wanted})
    for start in range(0, len(needed), _IN_CHUNK):
        chunk = needed[start : start + _IN_CHUNK]
        stmt = sa.select(
            audit_entries.c.idx, audit_entries.c.leaf_hash, audit_entries.c.nodes
        ).where(audit_entries.c.idx.in_(chunk))
        for row in conn.execute(stmt):
            rows[int(row.idx)] = (bytes(row.leaf_hash), bytes(row.nodes))
    out: dict[NodeKey, bytes] = {}
    for key in wanted:
        level, _ = key
        stored = rows.get(node_row(key))
        if stored is None:
            raise VerificationFailed(f"log entry {node_row(key)} is missing from the database")
        value = stored[0] if level == 0 else stored[1][(level - 1) * HASH_SIZE : level * HASH_SIZE]
        if len(value) != HASH_SIZE:
            raise VerificationFailed(
                f"stored subtree hash {key} in entry {node_row(key)} is damaged"
            )
        out[key] = value
    return out


# --- append ---------------------------------------------------------------------------------


_ROW_COLUMNS = (
    "idx",
    "recorded_at",
    "event_type",
    "source",
    "recipient",
    "subject",
    "categories",
    "outcome",
    "message_id",
    "leaf",
    "leaf_hash",
    "nodes",
)
_SQLITE_INSERT = (  # built from the constant column names above only
    f"INSERT INTO audit_entries ({', '.join(_ROW_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _ROW_COLUMNS)})"
)
_PG_COPY = f"COPY audit_entries ({', '.join(_ROW_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PG_TYPES = ("int8", *(["text"] * 8), "bytea", "bytea", "bytea")


def _insert_rows(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    if conn.dialect.name == "sqlite":
        # The driver's executemany directly: SQLAlchemy's per-row parameter processing costs
        # more than the insert itself here.
        conn.exec_driver_sql(_SQLITE_INSERT, rows)
    elif conn.dialect.name == "postgresql":
        # Binary COPY on the driver connection, inside the caller's transaction: far cheaper
        # than even pipelined INSERTs (no per-row statement, no SQLAlchemy parameter handling).
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
            copy.set_types(_PG_TYPES)
            for row in rows:
                copy.write_row(row)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        conn.execute(
            audit_entries.insert(), [dict(zip(_ROW_COLUMNS, r, strict=True)) for r in rows]
        )


def append(conn: sa.Connection, entries: Sequence[Entry], *, now: dt.datetime) -> list[int]:
    """Append entries (in order) in the caller's transaction; return their indexes.

    Cost: O(log n) rows read plus one row written per entry. Entries are never updated or
    deleted by any code path. Commit or roll back together with the caller's own writes.
    """
    if not entries:
        return []
    recorded = format_time(now)
    size, _ = lock_head(conn)
    frontier_keys = merkle.range_nodes(0, size)
    stored = fetch_nodes(conn, frontier_keys)
    frontier = [(level, stored[(level, idx)]) for level, idx in frontier_keys]

    leaves: list[bytes] = []
    for offset, entry in enumerate(entries):
        if not isinstance(entry, Entry):
            raise InvalidEntry(f"entry {offset} is a {type(entry).__name__}, not an audit Entry")
        try:
            leaves.append(leaf_bytes(entry, size + offset, recorded))
        except (UnicodeEncodeError, ValueError) as exc:
            raise InvalidEntry(f"entry {offset} cannot be serialised: {exc}") from exc
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    frontier, completed = merkle.frontier_after(frontier, hashes)

    rows = [
        (
            size + offset,
            recorded,
            entry.event_type.value,
            entry.source,
            entry.recipient,
            entry.subject_pseudonym,
            categories_json(entry.categories),
            entry.outcome,
            entry.message_id,
            leaves[offset],
            hashes[offset],
            b"".join(completed[offset]),
        )
        for offset, entry in enumerate(entries)
    ]
    _insert_rows(conn, rows)
    new_size = size + len(entries)
    conn.execute(
        sa.update(audit_head)
        .where(audit_head.c.id == 1)
        .values(size=new_size, root=merkle.fold([h for _, h in frontier]))
    )
    return list(range(size, new_size))


# --- reads and proofs -----------------------------------------------------------------------


def _check_size(conn: sa.Connection, size: int) -> int:
    current = tree_size(conn)
    if not 0 <= size <= current:
        raise BadRange(f"tree size {size} is outside 0..{current}")
    return current


def root(conn: sa.Connection, size: int) -> bytes:
    """MTH of the first `size` entries, from O(log n) stored subtree hashes."""
    _check_size(conn, size)
    keys = merkle.range_nodes(0, size)
    nodes = fetch_nodes(conn, keys)
    return merkle.fold([nodes[k] for k in keys])


def get_entry(conn: sa.Connection, index: int) -> LogEntry:
    """The entry at `index` (parsed from the stored leaf); UnknownIndex if there is none."""
    current = tree_size(conn)
    if not 0 <= index < current:
        raise UnknownIndex(index, current)
    leaf = conn.execute(
        sa.select(audit_entries.c.leaf).where(audit_entries.c.idx == index)
    ).scalar()
    if leaf is None:
        raise VerificationFailed(f"log entry {index} is missing from the database")
    return LogEntry.from_leaf(bytes(leaf))


def inclusion_proof(conn: sa.Connection, index: int, size: int | None = None) -> InclusionProof:
    """Proof that entry `index` is in the tree of `size` entries (default: the whole log)."""
    current = tree_size(conn)
    if not 0 <= index < current:
        raise UnknownIndex(index, current)
    if size is None:
        size = current
    if not index < size <= current:
        raise BadRange(f"entry {index} is not in a tree of size {size} (log size {current})")
    ranges = merkle.inclusion_ranges(index, size)
    nodes = fetch_nodes(conn, merkle.required_nodes(ranges) | {(0, index)})
    return InclusionProof(
        leaf_index=index,
        tree_size=size,
        leaf_hash=nodes[(0, index)],
        hashes=[merkle.range_hash(r, nodes) for r in ranges],
    )


def consistency_proof(conn: sa.Connection, old: int, new: int | None = None) -> ConsistencyProof:
    """Proof that the tree of `old` entries is a prefix of the tree of `new` entries."""
    current = tree_size(conn)
    if new is None:
        new = current
    if not 0 <= old <= new <= current:
        raise BadRange(f"need 0 <= old ({old}) <= new ({new}) <= log size ({current})")
    ranges = merkle.consistency_ranges(old, new)
    nodes = fetch_nodes(conn, merkle.required_nodes(ranges))
    return ConsistencyProof(old=old, new=new, hashes=[merkle.range_hash(r, nodes) for r in ranges])
