"""Whole-log verification: recompute the Merkle tree from the stored entries in one pass and
check every leaf hash, stored subtree hash, query column, the head and every checkpoint.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import merkle
from audit.checkpoint import Checkpoint, verify_checkpoint_by_any
from audit.entries import categories_json
from audit.errors import InvalidCheckpoint
from audit.merkle import HASH_SIZE
from audit.tables import audit_checkpoints, audit_entries, audit_head

MAX_PROBLEMS = 1000
_BATCH = 20_000
PROGRESS_EVERY = 4096  # entries between two calls of verify_log's `progress`

Progress = Callable[[int], None]  # called with the number of entries checked so far

# Problem kinds.
CHANGED = "changed"  # an entry's content differs from what was hashed / signed
REMOVED = "removed"  # an entry is missing
INSERTED = "inserted"  # an entry was slipped in (its index is claimed twice)
REORDERED = "reordered"  # an entry sits at another index than the one it was logged at
HEAD = "head"  # the head row disagrees with the entries
CHECKPOINT_FORGED = "checkpoint_forged"  # bad or missing signature, malformed note
CHECKPOINT_INCONSISTENT = "checkpoint_inconsistent"  # signed, but not a prefix of this log

_COLUMNS = (
    ("recorded_at", "recorded_at"),
    ("event_type", "event_type"),
    ("source", "source"),
    ("recipient", "recipient"),
    ("subject", "subject_pseudonym"),
    ("outcome", "outcome"),
    ("message_id", "message_id"),
)

# _COLUMNS grouped into runs of keys that are adjacent in a canonical leaf (LEAF_KEYS sorted).
_PG_GROUPS = (
    (("event_type", "event_type"),),
    (("message_id", "message_id"), ("outcome", "outcome")),
    (
        ("recipient", "recipient"),
        ("recorded_at", "recorded_at"),
        ("source", "source"),
        ("subject", "subject_pseudonym"),
    ),
)


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    index: int | None = None
    last_index: int | None = None
    checkpoint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "index": self.index,
            "last_index": self.last_index,
            "checkpoint": self.checkpoint,
        }


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


@dataclass
class VerifyReport:
    """What `verify_log` found; `ok` only if there is no problem at all."""

    entries: int = 0
    head_size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_omitted += 1

    def indexes(self, kind: str | None = None) -> list[int]:
        return [p.index for p in self.problems if p.index is not None and kind in (None, p.kind)]

    def summary(self) -> str:
        head = (
            f"{_count(self.entries, 'entry', 'entries')}, head size {self.head_size}, "
            f"{_count(self.checkpoints_checked, 'checkpoint')} checked"
        )
        if self.ok:
            return f"OK: {head}; root {self.root.hex()}"
        problems = len(self.problems) + self.problems_omitted
        lines = [f"FAILED: {head}; {_count(problems, 'problem')}"]
        lines += [f"  [{p.kind}] {p.message}" for p in self.problems]
        if self.problems_omitted:
            lines.append(f"  … and {self.problems_omitted} more")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_size": self.head_size,
            "root": self.root.hex(),
            "checkpoints_checked": self.checkpoints_checked,
            "problems": [p.as_dict() for p in self.problems],
            "problems_omitted": self.problems_omitted,
        }


class _Intervals:
    """Disjoint, sorted [start, end) intervals of entries already reported as bad."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)
        return any(self.ends[j] > start for j in range(max(0, i - 2), i))


@dataclass
class _Misplaced:
    row: int
    claimed: int


def _claimed_index(leaf: bytes) -> int | None:
    """The index a canonical leaf was logged at, without parsing the whole leaf.

    In RFC 8785 key order every key after the top-level "index" has a string or number value,
    so the last '"index":' in the bytes is the top-level one (a nested "index" in details comes
    earlier). A leaf that is not canonical fails its hash check anyway.
    """
    pos = leaf.rfind(b'"index":')
    if pos < 0:
        return None
    end = leaf.find(b",", pos)
    digits = leaf[pos + 8 : end]
    return int(digits) if digits.isdigit() else None


def _differs(conn: sa.Connection) -> sa.ColumnElement[bool]:
    """True for a row whose query columns differ from its leaf, computed by the database's own
    functions (fast, and on PostgreSQL in the server process, in parallel with the hashing here).
    A flagged row is then checked in Python to name the column."""
    c = audit_entries.c
    if conn.dialect.name == "postgresql":
        # No JSON parsing (5 µs a row in PostgreSQL): every top-level '"key":' occurs once in a
        # canonical leaf (details may not reuse entry field names) and a JSON string ends at
        # its first unescaped quote, so the column matches iff '"key":<column as JSON>' is a
        # substring of the leaf.
        # Keys adjacent in the canonical (sorted) key order share one needle, e.g.
        # '"recipient":…,"recorded_at":…,"source":…,"subject_pseudonym":…,'.
        def pair(col: str, key: str) -> sa.ColumnElement[str]:
            value = sa.func.coalesce(sa.cast(sa.func.to_json(c[col]), sa.Text), "null")
            return sa.literal(f'"{key}":') + value

        needles: list[sa.ColumnElement[str]] = [sa.literal('"categories":') + c.categories]
        for group in _PG_GROUPS:
            needle = pair(*group[0])
            for col, key in group[1:]:
                needle = needle + "," + pair(col, key)
            needles.append(needle)
        return sa.or_(
            *(
                sa.func.position(sa.func.convert_to(needle, "UTF8").op("IN")(c.leaf)) == 0
                for needle in needles
            )
        )
    if conn.dialect.name == "sqlite":
        text = sa.cast(c.leaf, sa.Text)
        differs = [
            c[col].is_distinct_from(sa.func.json_extract(text, f"$.{key}"))
            for col, key in [*_COLUMNS, ("categories", "categories")]
        ]
        valid = sa.func.json_valid(text) == 1
        return sa.case((valid, sa.or_(*differs)), else_=sa.true())
    return sa.true()  # pragma: no cover - only SQLite and PostgreSQL are supported


def _stream(conn: sa.Connection) -> Iterator[tuple[int, bytes, bytes, bytes, bool]]:
    """(idx, leaf, leaf_hash, nodes, columns_differ) for every entry row, in index order.

    Read through the driver (SQLAlchemy's per-row result handling would cost more than the
    hashing); on PostgreSQL through a server-side cursor, fetched in large chunks.
    """
    c = audit_entries.c
    stmt = sa.select(c.idx, c.leaf, c.leaf_hash, c.nodes, _differs(conn)).order_by(c.idx)
    compiled = stmt.compile(dialect=conn.dialect)
    sql = str(compiled)
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        # A server-side cursor (not a stream) so that flagged rows can be re-read meanwhile.
        with driver.cursor(name="audit_verify", binary=True) as cursor:
            cursor.itersize = _BATCH
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(_BATCH):
                yield from rows
    else:
        cursor = driver.cursor()
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(_BATCH):
                yield from rows
        finally:
            cursor.close()


def _column_mismatches_python(
    conn: sa.Connection, only: Sequence[int] | None = None
) -> dict[int, str]:
    c = audit_entries.c
    stmt = sa.select(c.idx, c.leaf, c.categories, *(c[col] for col, _ in _COLUMNS))
    if only is not None:
        stmt = stmt.where(c.idx.in_(list(only)))
    out: dict[int, str] = {}
    for row in conn.execution_options(yield_per=_BATCH).execute(stmt):
        try:
            doc = json.loads(bytes(row[1]))
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            out[int(row[0])] = "leaf"
            continue
        for pos, (col, key) in enumerate(_COLUMNS, start=3):
            if row[pos] != doc.get(key):
                out[int(row[0])] = col
                break
        else:
            if row[2] != categories_json(doc.get("categories")):
                out[int(row[0])] = "categories"
    return out


def _label_checkpoint(ident: str, cp: Checkpoint) -> str:
    return f"{ident} (size {cp.size})"


_Signed = tuple[str, Checkpoint]  # (how the report names a checkpoint, the verified checkpoint)


@dataclass
class _Replay:
    """What the pass over the stored entries recomputed, and the rows it found out of place."""

    roots: dict[int, bytes] = field(default_factory=lambda: {0: merkle.EMPTY_ROOT})
    count: int = 0
    root: bytes = merkle.EMPTY_ROOT
    bad: _Intervals = field(default_factory=_Intervals)
    misplaced: list[_Misplaced] = field(default_factory=list)
    claims: dict[int, int] = field(default_factory=dict)
    row_gaps: list[tuple[int, int]] = field(default_factory=list)


def verify_log(
    conn: sa.Connection,
    public_key: Ed25519PublicKey,
    origin: str,
    checkpoints: Sequence[str] = (),
    *,
    more_keys: Sequence[Ed25519PublicKey] = (),
    progress: Progress | None = None,
) -> VerifyReport:
    """Recompute everything from the stored entries and report precisely what does not match.

    A checkpoint may be signed by `public_key` or by one of `more_keys` (keys the log signed
    with before a rotation).

    `checkpoints` are signed checkpoint notes saved elsewhere (by a witness, an agency, a
    privacy officer); each must verify with `public_key` as `origin` and match the log.
    `progress`, if given, is called with the entries checked so far every PROGRESS_EVERY
    entries and once at the end (the head's size is the total to expect).
    """
    report = VerifyReport()
    head = _read_head(conn)
    report.head_size = int(head.size) if head else 0
    # Checkpoints first: their sizes are where the replay records roots.
    keys = (public_key, *more_keys)
    signed = _check_stored_checkpoints(conn, keys, origin, report)
    signed += _check_given_checkpoints(checkpoints, keys, origin, report)
    replay = _replay_entries(
        conn, report, {cp.size for _, cp in signed} | {report.head_size}, progress
    )
    report.entries = replay.count
    report.root = replay.root
    _classify_misplaced(report, replay.misplaced, replay.claims, replay.count, replay.row_gaps)
    # A size mismatch already explained by a removal or insertion above is reported without an
    # index of its own.
    explained = bool({p.kind for p in report.problems} & {REMOVED, INSERTED})
    _check_head(report, head, replay.count, explained)
    _check_signed_prefixes(report, signed, replay.roots, replay.count, explained)
    return report


def _read_head(conn: sa.Connection) -> sa.Row[int, bytes] | None:
    """The head row (size, root), or None where it is missing."""
    stmt = sa.select(audit_head.c.size, audit_head.c.root).where(audit_head.c.id == 1)
    return conn.execute(stmt).first()


def _verified(
    note: str, ident: str, keys: Sequence[Ed25519PublicKey], origin: str, report: VerifyReport
) -> Checkpoint | None:
    """Count one checkpoint note and check its signature by one of `keys`; None (reported
    forged) if none verifies."""
    report.checkpoints_checked += 1
    try:
        return verify_checkpoint_by_any(note, keys, origin)
    except InvalidCheckpoint as exc:
        report.add(Problem(CHECKPOINT_FORGED, f"{ident} is forged: {exc}", checkpoint=ident))
        return None


def _check_stored_checkpoints(
    conn: sa.Connection, keys: Sequence[Ed25519PublicKey], origin: str, report: VerifyReport
) -> list[_Signed]:
    """Check each stored checkpoint's signature and that its size/root columns match its note."""
    signed: list[_Signed] = []
    for row in conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.id)).all():
        ident = f"checkpoint #{row.id}"
        cp = _verified(str(row.note), ident, keys, origin, report)
        if cp is None:
            continue
        if int(row.size) != cp.size or bytes(row.root) != cp.root:
            report.add(
                Problem(
                    CHECKPOINT_INCONSISTENT,
                    f"{ident}: its size/root columns differ from its signed note",
                    checkpoint=ident,
                )
            )
        signed.append((ident, cp))
    return signed


def _check_given_checkpoints(
    notes: Sequence[str], keys: Sequence[Ed25519PublicKey], origin: str, report: VerifyReport
) -> list[_Signed]:
    """Check the signature of each checkpoint note supplied from outside the database."""
    signed: list[_Signed] = []
    for number, note in enumerate(notes, start=1):
        ident = f"given checkpoint {number}"
        cp = _verified(note, ident, keys, origin, report)
        if cp is not None:
            signed.append((ident, cp))
    return signed


def _replay_entries(
    conn: sa.Connection,
    report: VerifyReport,
    wanted_sizes: set[int],
    progress: Progress | None = None,
) -> _Replay:
    """Re-hash every stored leaf and rebuild the tree in one pass, reporting what differs.

    The per-entry work stays inline (this runs a million times); rare findings go to helpers.
    """
    replay = _Replay()
    roots, bad, claims = replay.roots, replay.bad, replay.claims
    frontier: list[bytes] = []  # the perfect subtrees' hashes; their sizes are count's bits
    count = 0
    expected_row = 0
    sha256 = hashlib.sha256

    for idx, raw_leaf, stored_hash, raw_nodes, columns_differ in _stream(conn):
        leaf = bytes(raw_leaf)
        if idx != expected_row:
            _report_missing_rows(report, replay, expected_row, idx)
        expected_row = idx + 1

        h = sha256(b"\x00" + leaf).digest()
        # Fast path for the usual case: the top-level (last) "index" is this row's index.
        pos = leaf.rfind(b'"index":')
        in_place = pos >= 0 and leaf.startswith(b"%d," % idx, pos + 8)
        if in_place and stored_hash == h and not columns_differ:
            claims[idx] = claims.get(idx, 0) + 1
        else:
            _check_leaf(
                conn,
                report,
                replay,
                idx,
                count,
                leaf,
                hash_matches=stored_hash == h,
                in_place=in_place,
                columns_differ=columns_differ,
            )

        # Recompute the subtrees this leaf completes and compare with the stored ones.
        # Leaf number `count` completes one subtree per trailing 1 bit of `count`.
        frontier.append(h)
        nodes = bytes(raw_nodes) if idx == count else None
        level = 0
        while count >> level & 1:
            right = frontier.pop()
            parent = sha256(b"\x01" + frontier.pop() + right).digest()
            frontier.append(parent)
            if nodes is not None and nodes[level * HASH_SIZE : (level + 1) * HASH_SIZE] != parent:
                _report_subtree(report, bad, idx, count, level)
            level += 1
        if (
            nodes is not None
            and len(nodes) != level * HASH_SIZE
            and not bad.overlaps(count, count + 1)
        ):
            report.add(
                Problem(CHANGED, f"entry {idx} was changed: its stored subtree hashes", index=idx)
            )
            bad.add(count, count + 1)
        count += 1
        if count in wanted_sizes:
            roots[count] = merkle.fold(frontier)
        if progress is not None and not count % PROGRESS_EVERY:
            progress(count)

    if progress is not None:
        progress(count)
    replay.count = count
    replay.root = roots.get(count) or merkle.fold(frontier)
    return replay


def _report_missing_rows(report: VerifyReport, replay: _Replay, expected: int, idx: int) -> None:
    """Report the indexes skipped between the row expected next and the row read."""
    replay.row_gaps.append((expected, idx))
    report.add(
        Problem(
            REMOVED,
            f"entries {expected}..{idx - 1} are missing (no rows with those indexes)"
            if idx - expected > 1
            else f"entry {expected} is missing (no row with that index)",
            index=expected,
            last_index=idx - 1,
        )
    )


def _check_leaf(
    conn: sa.Connection,
    report: VerifyReport,
    replay: _Replay,
    idx: int,
    count: int,
    leaf: bytes,
    *,
    hash_matches: bool,
    in_place: bool,
    columns_differ: bool,
) -> None:
    """Name what is wrong with a leaf that failed the fast check: changed, or misplaced."""
    problem: str | None = None
    if not hash_matches:
        problem = f"entry {idx} was changed: its leaf no longer matches its stored hash"
    claimed = idx if in_place else _claimed_index(leaf)
    if claimed is None:
        problem = problem or f"entry {idx} was changed: its leaf is not a log entry"
    else:
        replay.claims[claimed] = replay.claims.get(claimed, 0) + 1
        if claimed != idx:
            replay.misplaced.append(_Misplaced(idx, claimed))
            replay.bad.add(count, count + 1)
    if problem is None and columns_differ:
        column = _column_mismatches_python(conn, [idx]).get(idx)
        if column is not None:
            problem = f"entry {idx} was changed: column {column} differs from the signed leaf"
    if problem is not None:
        report.add(Problem(CHANGED, problem, index=idx))
        replay.bad.add(count, count + 1)


def _report_subtree(
    report: VerifyReport, bad: _Intervals, idx: int, count: int, level: int
) -> None:
    """Report a stored subtree hash that differs, unless a bad entry inside it explains it."""
    start = count + 1 - (2 << level)
    if not bad.overlaps(start, count + 1):
        report.add(
            Problem(
                CHANGED,
                f"an entry in {start}..{count} was changed and its leaf hash "
                f"rewritten: the stored hash of that subtree (kept in row {idx}) "
                "no longer matches",
                index=start,
                last_index=count,
            )
        )
        bad.add(start, count + 1)


def _check_head(
    report: VerifyReport, head: sa.Row[int, bytes] | None, count: int, explained: bool
) -> None:
    """Compare the head row's size and root with the recomputed log."""
    if head is None:
        if count:
            report.add(Problem(HEAD, "the audit_head row is missing"))
        return
    if report.head_size > count:
        report.add(
            Problem(
                REMOVED,
                f"the head records {report.head_size} entries but {count} rows are stored"
                + ("" if explained else f": entries from {count} on were removed"),
                index=None if explained else count,
                last_index=None if explained else report.head_size - 1,
            )
        )
    elif report.head_size < count:
        report.add(
            Problem(
                INSERTED,
                f"{count} rows are stored but the head records {report.head_size} entries"
                + ("" if explained else ": rows beyond it were inserted outside append"),
                index=None if explained else report.head_size,
                last_index=None if explained else count - 1,
            )
        )
    elif bytes(head.root) != report.root:
        report.add(Problem(HEAD, "the head's root differs from the recomputed root"))


def _check_signed_prefixes(
    report: VerifyReport,
    signed: list[_Signed],
    roots: dict[int, bytes],
    count: int,
    explained: bool,
) -> None:
    """Check that every signed checkpoint is the root of a prefix of the stored entries."""
    for ident, cp in signed:
        if cp.size > count:
            report.add(
                Problem(
                    REMOVED,
                    f"{_label_checkpoint(ident, cp)} attests {cp.size} entries but only {count} "
                    "are stored" + ("" if explained else f": entries from {count} on were removed"),
                    index=None if explained else count,
                    last_index=None if explained else cp.size - 1,
                    checkpoint=ident,
                )
            )
        elif roots.get(cp.size) != cp.root:
            report.add(
                Problem(
                    CHECKPOINT_INCONSISTENT,
                    f"{_label_checkpoint(ident, cp)} is inconsistent with the stored entries: "
                    f"the first {cp.size} entries do not hash to its root",
                    checkpoint=ident,
                )
            )


def _classify_misplaced(
    report: VerifyReport,
    misplaced: list[_Misplaced],
    claims: dict[int, int],
    count: int,
    row_gaps: list[tuple[int, int]],
) -> None:
    """Name removed, inserted and reordered entries from rows whose leaf claims another index."""
    if not misplaced:
        return
    gap_indexes = {i for start, end in row_gaps for i in range(start, end)}
    top = max(claims) + 1 if claims else count
    missing = [i for i in range(top) if i not in claims and i not in gap_indexes]
    duplicated = sorted(i for i, n in claims.items() if n > 1)
    for i in missing:
        report.add(Problem(REMOVED, f"entry {i} was removed (no row holds it)", index=i))
    for i in duplicated:
        report.add(
            Problem(
                INSERTED,
                f"an entry was inserted at index {i}: {claims[i]} rows claim index {i} "
                "and the entries after it were shifted",
                index=i,
            )
        )
    # A misplaced row is explained by a removal or insertion before it (a shift); others are
    # reordered.
    for m in misplaced:
        removed_before = bisect.bisect_left(missing, m.claimed)
        inserted_before = bisect.bisect_right(duplicated, m.row)
        if m.claimed - removed_before + inserted_before == m.row:
            continue
        report.add(
            Problem(
                REORDERED,
                f"entry {m.row} was reordered: the row at index {m.row} holds the entry "
                f"logged as index {m.claimed}",
                index=m.row,
            )
        )
