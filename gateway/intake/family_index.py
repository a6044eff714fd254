"""The in-memory family index routing and the relay's re-check read: each person's families,
their teams and periods, birth dates and guardians; kept current from the registry's change
sequence like the consent index (`refresh(conn)` before each use reads only what changed).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from consent.rules import PersonFacts
from gateway.db.tables import families, family_changes, family_sequence


@dataclass(frozen=True, slots=True)
class Enrolment:
    """One of a person's families, with the team that works on it."""

    family_id: str
    team: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Family:
    family_id: str
    team: tuple[str, ...]
    start: dt.date | None
    end: dt.date | None  # exclusive
    members: Mapping[str, tuple[dt.date, tuple[str, ...]]]  # person -> (birth date, guardians)

    @classmethod
    def of(cls, family_id: str, document: Mapping[str, Any]) -> _Family:
        period = document.get("period") or {}
        start, end = period.get("start"), period.get("end")
        return cls(
            family_id,
            tuple(document["team"]),
            dt.date.fromisoformat(start) if start else None,
            dt.date.fromisoformat(end) if end else None,
            {
                m["id"]: (dt.date.fromisoformat(m["birth_date"]), tuple(m.get("guardians", ())))
                for m in document["members"]
            },
        )


def active_on(period: Mapping[str, Any] | None, at: dt.date) -> bool:
    """Whether a family's period (its stored `period`, or None) includes the day `at`."""
    period = period or {}
    start, end = period.get("start"), period.get("end")
    if start and dt.date.fromisoformat(start) > at:
        return False
    return not (end and dt.date.fromisoformat(end) <= at)


def _active(family: _Family, at: dt.date) -> bool:
    if family.start is not None and family.start > at:
        return False
    return family.end is None or family.end > at


@dataclass(frozen=True, slots=True)
class FamilySnapshot:
    """The index as of change sequence number `seq`: read one snapshot for one decision."""

    seq: int
    families: Mapping[str, _Family]
    by_person: Mapping[str, tuple[str, ...]]  # person -> family ids, sorted

    def enrolments(self, person: str, at: dt.date) -> list[Enrolment]:
        """The person's families active on `at`, with their teams, by family id."""
        found = []
        for family_id in self.by_person.get(person, ()):
            family = self.families[family_id]
            if _active(family, at):
                found.append(Enrolment(family_id, family.team))
        return found

    def person_facts(self, person: str) -> PersonFacts | None:
        """Birth date and every guardian recorded for the person in any family (None if in
        no family), as `routing.person_facts` reads them from the registry."""
        family_ids = self.by_person.get(person)
        if not family_ids:
            return None
        guardians: set[str] = set()
        birth_date = None
        for family_id in family_ids:
            born, theirs = self.families[family_id].members[person]
            birth_date = birth_date or born
            guardians.update(theirs)
        assert birth_date is not None
        return PersonFacts.of(person, birth_date, guardians)

    def teams(self, family_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        return {f: self.families[f].team for f in family_ids if f in self.families}

    def period_bounds(self, family_id: str) -> tuple[dt.date | None, dt.date | None]:
        family = self.families.get(family_id)
        return (None, None) if family is None else (family.start, family.end)


_EMPTY = FamilySnapshot(0, {}, {})


class FamilyIndex:
    """Every family's routing facts, by person; thread-safe. `load` once at start, then
    `refresh(conn)` before each use: one indexed range query over the change sequence, which
    returns nothing when nothing changed, and the immutable snapshot to decide on."""

    def __init__(self) -> None:
        self._state = _EMPTY
        self._lock = threading.Lock()

    @property
    def seq(self) -> int:
        return self._state.seq

    def snapshot(self) -> FamilySnapshot:
        return self._state

    def load(self, conn: sa.Connection) -> int:
        """Replace the contents with every family in the registry; return how many."""
        with self._lock:
            self._state = _read(conn, _EMPTY)
            return len(self._state.families)

    def refresh(self, conn: sa.Connection) -> FamilySnapshot:
        """Apply the changes recorded (by any process) since the last one seen, and return the
        snapshot to decide on. In a transaction that changed a family itself (not committed,
        so it may still roll back) the changes are read into that snapshot only."""
        with self._lock:
            state = _read(conn, self._state)
            if conn.get_transaction() not in _CHANGING:
                self._state = state
            return state


def _read(conn: sa.Connection, state: FamilySnapshot) -> FamilySnapshot:
    """`state` with the changes numbered after its own applied."""
    # One statement: the change numbers and the documents they stand for come from the same
    # snapshot, so the index never holds a state newer than its number says.
    rows = conn.execute(
        sa.select(family_changes.c.seq, family_changes.c.family_id, families.c.document)
        .select_from(
            family_changes.outerjoin(families, families.c.family_id == family_changes.c.family_id)
        )
        .where(family_changes.c.seq > state.seq)
        .order_by(family_changes.c.seq)
    ).all()
    if not rows:
        return state
    found = dict(state.families)
    by_person = {p: set(ids) for p, ids in state.by_person.items()}
    for row in rows:
        old = found.pop(row.family_id, None)
        if old is not None:
            for person in old.members:
                by_person[person].discard(row.family_id)
        if row.document is not None:  # None: the family was deleted
            family = _Family.of(row.family_id, row.document)
            found[row.family_id] = family
            for person in family.members:
                by_person.setdefault(person, set()).add(row.family_id)
    return FamilySnapshot(
        int(rows[-1].seq),
        found,
        {p: tuple(sorted(ids)) for p, ids in by_person.items() if ids},
    )


# Transactions that changed a family and have not ended: their reads stay out of the index.
_CHANGING: weakref.WeakSet[Any] = weakref.WeakSet()


def record_change(conn: sa.Connection, family_id: str) -> int:
    """Number a change of the family (created, changed, deleted) in the caller's transaction;
    the counter's row stays locked until commit, so commit order is sequence order."""
    bump = (
        sa.update(family_sequence)
        .where(family_sequence.c.id == 1)
        .values(value=family_sequence.c.value + 1)
        .returning(family_sequence.c.value)
    )
    value = conn.execute(bump).scalar_one_or_none()
    if value is None:
        insert: Any
        if conn.dialect.name == "postgresql":
            insert = postgresql.insert(family_sequence).on_conflict_do_nothing()
        else:
            insert = sqlite.insert(family_sequence).on_conflict_do_nothing()
        conn.execute(insert.values(id=1, value=0))
        value = conn.execute(bump).scalar_one()
    seq = int(value)
    _CHANGING.add(conn.get_transaction())
    conn.execute(family_changes.delete().where(family_changes.c.family_id == family_id))
    conn.execute(family_changes.insert().values(family_id=family_id, seq=seq))
    return seq
