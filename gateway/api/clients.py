"""API clients: issue bearer tokens (shown once, stored as SHA-256), list, revoke, authenticate.

Tokens carry 256 random bits, so a plain SHA-256 is a sufficient one-way store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from gateway.db.tables import clients
from gateway.errors import ClientError
from schemas import Agency

TOKEN_PREFIX = "hh_"  # noqa: S105 - a prefix, not a secret


class Role(StrEnum):
    AGENCY = "agency"
    COORDINATOR = "coordinator"
    PRIVACY_OFFICER = "privacy_officer"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an authenticated client."""

    client_id: str
    name: str
    role: Role
    agency: str | None


@dataclass(frozen=True, slots=True)
class IssuedClient:
    principal: Principal
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_client(
    conn: sa.Connection, name: str, role: Role, agency: str | None, *, now: dt.datetime
) -> IssuedClient:
    """Create a client and return its token (the only time it is ever available)."""
    if role is Role.AGENCY:
        if agency is None:
            raise ClientError("an agency client needs --agency")
        if agency not in {a.value for a in Agency}:
            raise ClientError(f"unknown agency {agency!r}; one of {', '.join(a for a in Agency)}")
    elif agency is not None and role is not Role.COORDINATOR:
        raise ClientError(f"--agency applies to agency and coordinator clients, not {role}")
    if conn.execute(sa.select(clients.c.client_id).where(clients.c.name == name)).first():
        raise ClientError(f"a client named {name!r} already exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    principal = Principal(uuid.uuid4().hex, name, role, agency)
    conn.execute(
        clients.insert().values(
            client_id=principal.client_id,
            name=name,
            role=role.value,
            agency=agency,
            token_sha256=hash_token(token),
            created_at=now,
        )
    )
    return IssuedClient(principal, token)


def list_clients(conn: sa.Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        sa.select(
            clients.c.client_id,
            clients.c.name,
            clients.c.role,
            clients.c.agency,
            clients.c.created_at,
            clients.c.revoked_at,
        ).order_by(clients.c.created_at, clients.c.name)
    )
    return [dict(row._mapping) for row in rows]


def revoke_client(conn: sa.Connection, name: str, *, now: dt.datetime) -> None:
    result = conn.execute(
        clients.update()
        .where(clients.c.name == name, clients.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if result.rowcount != 1:
        raise ClientError(f"no active client named {name!r}")


def rotate_token(conn: sa.Connection, name: str, *, now: dt.datetime, grace: dt.timedelta) -> str:
    """A new token for an active client (shown once). The old one keeps working for `grace`
    (none: it stops at once), so the client's system can be switched without an outage."""
    row = conn.execute(
        sa.select(clients.c.token_sha256).where(
            clients.c.name == name, clients.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise ClientError(f"no active client named {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    keep_old = grace > dt.timedelta(0)
    conn.execute(
        clients.update()
        .where(clients.c.name == name)
        .values(
            token_sha256=hash_token(token),
            previous_token_sha256=row.token_sha256 if keep_old else None,
            previous_valid_until=now + grace if keep_old else None,
        )
    )
    return token


def authenticate(
    conn: sa.Connection, token: str, *, now: dt.datetime | None = None
) -> Principal | None:
    """The principal for a bearer token, or None (unknown, revoked, or a rotated token whose
    grace period has ended)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    now = now or dt.datetime.now(dt.UTC)
    active = clients.c.revoked_at.is_(None)
    row = conn.execute(sa.select(clients).where(clients.c.token_sha256 == digest, active)).first()
    if row is not None and hmac.compare_digest(row.token_sha256, digest):
        return Principal(row.client_id, row.name, Role(row.role), row.agency)
    row = conn.execute(
        sa.select(clients).where(clients.c.previous_token_sha256 == digest, active)
    ).first()
    if (
        row is None
        or not hmac.compare_digest(row.previous_token_sha256, digest)
        or _aware(row.previous_valid_until) <= now
    ):
        return None
    return Principal(row.client_id, row.name, Role(row.role), row.agency)


def _aware(when: dt.datetime) -> dt.datetime:
    """SQLite gives back naive UTC datetimes; PostgreSQL aware ones."""
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def active_principal(conn: sa.Connection, client_id: str) -> Principal | None:
    """The principal of a client that is still active (None once revoked or unknown)."""
    row = conn.execute(
        sa.select(clients).where(clients.c.client_id == client_id, clients.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return Principal(row.client_id, row.name, Role(row.role), row.agency)
