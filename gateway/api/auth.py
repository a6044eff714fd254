"""Bearer tokens from a request's headers, and the principal they name: used by the request
guard (before any body is read) and by the `require_role` dependency.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.api.clients import Principal, authenticate
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem
from gateway.db.engine import reading


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def principal_for(engine: sa.Engine, token: str) -> Principal | None:
    """The active client the token belongs to, or None (unknown or revoked)."""
    with reading(engine) as conn:
        return authenticate(conn, token)


def unauthorized(detail: str) -> Problem:
    """The 401 problem, with the challenge of RFC 6750."""
    return Problem(
        401,
        "Unauthorized",
        detail,
        type_=problem_type("unauthorized"),
        headers={"WWW-Authenticate": 'Bearer realm="helhet"'},
    )
