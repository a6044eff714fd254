"""Which database errors mean "unavailable, try again" (503 with Retry-After; the relay backs off)
and which are bugs or refusals that must not be retried blindly."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.db.engine import unavailable
from gateway.errors import DatabaseUnavailable


class _DriverError(Exception):
    pass


def _wrapped(cls: type[sa.exc.DBAPIError], *, invalidated: bool = False) -> sa.exc.DBAPIError:
    return cls(
        "SELECT 1",
        {},
        _DriverError("server closed the connection"),
        connection_invalidated=invalidated,
    )


def test_lost_or_refused_connections_are_unavailable() -> None:
    for error in (
        _wrapped(sa.exc.OperationalError),
        _wrapped(sa.exc.InterfaceError),
        _wrapped(sa.exc.ProgrammingError, invalidated=True),
        sa.exc.TimeoutError("QueuePool limit reached"),
    ):
        mapped = unavailable(error)
        assert isinstance(mapped, DatabaseUnavailable), error
        assert mapped.retriable
        assert str(mapped).startswith("database unavailable: ")


def test_other_database_errors_are_not() -> None:
    for error in (
        _wrapped(sa.exc.IntegrityError),
        _wrapped(sa.exc.ProgrammingError),
        sa.exc.NoSuchTableError("gateway_outbox"),
    ):
        assert unavailable(error) is None, error
