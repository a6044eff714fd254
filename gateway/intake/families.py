"""The family registry: enrol families and their teams, look up a person's families for routing.

A person may belong to several families (separated parents); each is served.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from gateway.db.tables import families, family_members
from gateway.errors import ConflictingFacts, UnknownFamily
from gateway.intake.family_index import record_change
from schemas import Agency, Coordinator, Family, Member, Period


class FamilyIn(BaseModel):
    """POST /v1/families: the family's members, team, coordinator and period."""

    model_config = ConfigDict(extra="forbid")

    members: list[Member] = Field(min_length=1, max_length=30)
    team: list[Agency] = Field(min_length=1)
    coordinator: Coordinator
    period: Period | None = None
    next_evaluation: dt.date | None = None


class FamilyPatch(BaseModel):
    """PATCH /v1/families/{id}: replace the fields given (members carry their guardians)."""

    model_config = ConfigDict(extra="forbid")

    members: list[Member] | None = Field(default=None, min_length=1, max_length=30)
    team: list[Agency] | None = Field(default=None, min_length=1)
    coordinator: Coordinator | None = None
    period: Period | None = None
    next_evaluation: dt.date | None = None


def _check_facts(conn: sa.Connection, family_id: str | None, members: Iterable[Member]) -> None:
    for index, member in enumerate(members):
        query = sa.select(family_members.c.family_id, family_members.c.birth_date).where(
            family_members.c.person_id == member.id
        )
        if family_id is not None:
            query = query.where(family_members.c.family_id != family_id)
        for row in conn.execute(query):
            if row.birth_date != member.birth_date:
                raise ConflictingFacts(
                    f"member {index} has birth date {member.birth_date} here but "
                    f"{row.birth_date} in family {row.family_id}",
                    pointer=f"/members/{index}/birth_date",
                )


def _write_members(conn: sa.Connection, family: Family) -> None:
    conn.execute(family_members.delete().where(family_members.c.family_id == family.family_id))
    conn.execute(
        family_members.insert(),
        [
            {
                "family_id": family.family_id,
                "person_id": m.id,
                "birth_date": m.birth_date,
                "guardians": list(m.guardians),
            }
            for m in family.members
        ],
    )


def create(
    conn: sa.Connection, data: FamilyIn, *, municipality: str, by: str, now: dt.datetime
) -> Family:
    family = Family(
        family_id=uuid.uuid4().hex,
        municipality=municipality,
        members=data.members,
        team=data.team,
        coordinator=data.coordinator,
        period=data.period,
        next_evaluation=data.next_evaluation,
    )
    _check_facts(conn, None, family.members)
    conn.execute(
        families.insert().values(
            family_id=family.family_id,
            version=1,
            document=family.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
            created_by=by,
        )
    )
    _write_members(conn, family)
    record_change(conn, family.family_id)
    return family


def get(conn: sa.Connection, family_id: str) -> tuple[Family, int]:
    row = conn.execute(
        sa.select(families.c.document, families.c.version).where(families.c.family_id == family_id)
    ).first()
    if row is None:
        raise UnknownFamily(f"no family {family_id!r}", pointer="path:family_id")
    return Family.model_validate(row.document), int(row.version)


def of_person(conn: sa.Connection, person: str) -> list[tuple[Family, int]]:
    """Every family the person is a member of (whatever its period), oldest first."""
    rows = conn.execute(
        sa.select(families.c.document, families.c.version)
        .join(family_members, family_members.c.family_id == families.c.family_id)
        .where(family_members.c.person_id == person)
        .order_by(families.c.created_at, families.c.family_id)
    )
    return [(Family.model_validate(row.document), int(row.version)) for row in rows]


def patch(
    conn: sa.Connection, family_id: str, change: FamilyPatch, *, now: dt.datetime
) -> tuple[Family, int]:
    current, version = get(conn, family_id)
    updates = change.model_dump(mode="json", exclude_unset=True)
    merged = Family.model_validate({**current.model_dump(mode="json"), **updates})
    _check_facts(conn, family_id, merged.members)
    result = conn.execute(
        families.update()
        .where(families.c.family_id == family_id, families.c.version == version)
        .values(document=merged.model_dump(mode="json"), version=version + 1, updated_at=now)
    )
    if result.rowcount != 1:
        raise ConflictingFacts("the family changed meanwhile; read it again", pointer="")
    _write_members(conn, merged)
    record_change(conn, family_id)
    return merged, version + 1


def recent(conn: sa.Connection, limit: int = 200) -> list[tuple[Family, int, dt.datetime]]:
    """The most recently changed families: (family, version, last changed), newest first."""
    rows = conn.execute(
        sa.select(families.c.document, families.c.version, families.c.updated_at)
        .order_by(families.c.updated_at.desc(), families.c.family_id)
        .limit(limit)
    )
    return [(Family.model_validate(r.document), int(r.version), r.updated_at) for r in rows]
