"""Errors of the gateway, one tree: GatewayError is the root.

`retriable` says whether trying again later may succeed; `status` is the HTTP status an API
answer gives and `pointer` the JSON Pointer (or `header:…`/`path:…`) of the offending field.
Foreign errors (SQLAlchemy, kafka-python, the agency side's) are mapped to these at the
boundary with `raise … from`.

    GatewayError
    ├── ConfigError            the instance configuration is invalid (names the key)
    ├── DatabaseNotMigrated    the schema is missing or older than this version
    ├── DatabaseUnavailable    the database connection was lost or refused (retriable)
    ├── BrokerUnavailable      Kafka cannot be reached (retriable)
    ├── InvalidPayload         seal_message() refused its input
    ├── ClientError            an API client cannot be created or found
    ├── WitnessRefused         a witness did not cosign a checkpoint (retriable if unreachable)
    ├── LogRolledBack          the log is smaller than, or inconsistent with, a checkpoint
    │                          published or witnessed outside the database
    ├── RequestError           a request the gateway refuses before storing anything
    │   ├── FamilyError > UnknownFamily (404), ConflictingFacts (409)
    │   ├── RecordError > IdempotencyConflict (409)
    │   └── PlanError > UnknownEntry (404), PlanClosed (409), StaleVersion (412),
    │                   VersionRequired (428)
    └── ConsoleError           a console page refused (rendered as an HTML page, not JSON)
        ├── SignInRequired     no session, or it timed out (303 to the sign-in page)
        ├── ConsoleForbidden   the role may not see the page, or a form's CSRF token is wrong
        └── PageNotFound       no such entry, family, consent or saved search (404)
"""

from __future__ import annotations


class GatewayError(Exception):
    retriable = False


class ConfigError(GatewayError):
    """The instance configuration is invalid; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"configuration error in {key}: {message}")
        self.key = key


class DatabaseNotMigrated(GatewayError):
    """The database schema is missing or older than this version of helhet."""


class DatabaseUnavailable(GatewayError):
    """The database connection was lost or refused (a restart, a fail-over, a busy SQLite file):
    nothing of the transaction was kept; trying again later may succeed."""

    retriable = True


class BrokerUnavailable(GatewayError):
    """The Kafka-protocol broker cannot be reached or started."""

    retriable = True


class InvalidPayload(GatewayError, ValueError):
    """seal_message() refused its input: an unknown payload schema, an invalid field, a naive
    time."""


class ClientError(GatewayError):
    """A client cannot be created or found as asked."""


class WitnessRefused(GatewayError):
    """A witness did not cosign: unreachable, refused, or answered something unverifiable."""

    def __init__(self, witness: str, message: str, *, retriable: bool = False) -> None:
        super().__init__(f"witness {witness}: {message}")
        self.witness = witness
        self.retriable = retriable


class LogRolledBack(GatewayError):
    """The log is smaller than, or inconsistent with, a checkpoint kept outside the database."""


class RequestError(GatewayError):
    """Refused before anything is stored: `status` and `pointer` go into the problem+json."""

    status = 422

    def __init__(self, message: str, *, pointer: str | None = None, status: int | None = None):
        super().__init__(message)
        self.pointer = pointer
        if status is not None:
            self.status = status


class FamilyError(RequestError):
    """A family cannot be enrolled or changed as asked."""


class UnknownFamily(FamilyError):
    status = 404


class ConflictingFacts(FamilyError):
    """A person's birth date differs from the one recorded in another family."""

    status = 409


class RecordError(RequestError):
    """A record the gateway refuses before anything is stored."""


class IdempotencyConflict(RecordError):
    status = 409

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was used before with a different body",
            pointer="header:Idempotency-Key",
        )


class PlanError(RequestError):
    """A change to a family plan the gateway refuses (nothing stored, nothing forwarded)."""


class UnknownEntry(PlanError):
    status = 404


class PlanClosed(PlanError):
    """The plan is closed (the enrolment ended) or deleted: it takes no more changes."""

    status = 409


class StaleVersion(PlanError):
    """If-Match names a version that is no longer the entry's latest."""

    status = 412


class VersionRequired(PlanError):
    """A change must say which version it changes (If-Match)."""

    status = 428


class ConsoleError(GatewayError):
    """A console page refused; `status` is the HTTP status of the HTML page shown."""

    status = 400


class SignInRequired(ConsoleError):
    """No session, or it ended (idle or absolute timeout, sign-out, revoked client)."""

    status = 303


class ConsoleForbidden(ConsoleError):
    """The signed-in role may not use the page, or a form's CSRF token did not match."""

    status = 403


class PageNotFound(ConsoleError):
    status = 404
