"""Records in: translate -> route -> decide and minimise -> seal -> ONE transaction holding the
disclosure and refusal entries, the outbox rows and the record's answer.

The relay (gateway.delivery) publishes the outbox; nothing reaches Kafka without its entry here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from pydantic import BaseModel

from adapters.registry import translate
from audit.entries import Entry, EntryType, Outcome
from gateway.db.engine import reading
from gateway.db.tables import records
from gateway.db.tables import updates as updates_table
from gateway.errors import IdempotencyConflict, RecordError
from gateway.intake import routing
from gateway.intake.minimise import PURPOSE, Minimised, RouteOutcome, minimise
from gateway.intake.queue import Batch, Message
from gateway.intake.services import Current, Services
from schemas import PlanUpdate
from schemas.canonical import canonical_json

_ATTEMPTS = 3  # a transaction that lost a race with the same records is tried again


class Route(BaseModel):
    family_id: str
    recipient: str
    disclosed: list[str]
    withheld: list[str]


class RecordAnswer(BaseModel):
    """The 202 answer to POST /v1/records/{agency}."""

    record_id: str
    updates: int
    routes: list[Route]


def _queue(batch: Batch, minimised: Minimised, *, agency: str, client: str, record_id: str) -> None:
    """Seal and queue every permitted message; log every refusal."""
    for message in minimised.messages:
        batch.add_message(
            Message(
                kind="plan_update",
                payload=message.update.model_copy(update={"items": message.items}),
                family_id=message.family_id,
                recipient=message.recipient,
                source=agency,
                subject=message.subject,
                categories=sorted({item.category.value for item in message.items}),
                purpose=PURPOSE,
                basis=message.decision.basis,
                reason=message.decision.reason.value,
                consent_id=message.decision.consent_id,
                record_id=record_id,
                details={
                    "record_id": record_id,
                    "record_type": message.update.source.record_type,
                    "items": len(message.items),
                },
            )
        )
    for refusal in minimised.refusals:
        batch.add_entry(
            Entry(
                event_type=EntryType.REFUSAL,
                source=agency,
                recipient=refusal.recipient,
                subject_pseudonym=batch.pseudonym(refusal.subject),
                categories=refusal.categories,
                purpose=PURPOSE,
                basis=refusal.basis,
                outcome=Outcome.REFUSED,
                reason=refusal.reason,
                client=client,
                family_id=refusal.family_id,
                details={
                    "record_id": record_id,
                    "record_type": refusal.record_type,
                    "items": refusal.items,
                },
            )
        )


def forward_by_update(
    services: Services,
    conn: sa.Connection,
    updates: list[PlanUpdate],
    *,
    agency: str,
    client: str,
    record_id: str,
    now: dt.datetime,
) -> dict[str, list[Route]]:
    """Route, decide, minimise and seal `updates` in the caller's transaction.

    Writes the disclosure and refusal entries and the outbox rows; returns each update's
    routes by update_id (an update about no enrolled person has none and leaves no trace).
    """
    current = services.refresh(conn)
    today = now.astimezone(dt.UTC).date()
    targets = routing.targets(current.families, updates, agency, today)
    return forward_targets(
        services,
        conn,
        targets,
        agency=agency,
        client=client,
        record_id=record_id,
        now=now,
        decided_on=current,
    )


def forward_targets(
    services: Services,
    conn: sa.Connection,
    targets: Iterable[routing.Target],
    *,
    agency: str,
    client: str,
    record_id: str,
    now: dt.datetime,
    decided_on: Current | None = None,
) -> dict[str, list[Route]]:
    """Decide, minimise and seal targets already routed (refresh the indexes first: pass what
    `services.refresh` answered as `decided_on`, and the relay may skip its re-check while
    nothing changed); each update's routes by update_id."""
    minimised = minimise(services, targets, source=agency, now=now)
    if not minimised.routes:
        return {}
    batch = Batch(services, conn, client=client, now=now, decided_on=decided_on)
    _queue(batch, minimised, agency=agency, client=client, record_id=record_id)
    batch.write()
    return {
        update_id: _routes(outcomes)
        for update_id, outcomes in minimised.by_update.items()
        if outcomes
    }


def forward(
    services: Services,
    conn: sa.Connection,
    updates: list[PlanUpdate],
    *,
    agency: str,
    client: str,
    record_id: str,
    now: dt.datetime,
) -> list[Route]:
    """forward_by_update, with the routes of all the updates merged (one per family and
    recipient): what a caller that sends one change at a time answers with."""
    by_update = forward_by_update(
        services, conn, updates, agency=agency, client=client, record_id=record_id, now=now
    )
    return merge_routes(by_update.values())


def _routes(outcomes: Mapping[tuple[str, str], RouteOutcome]) -> list[Route]:
    return [
        Route(
            family_id=family_id,
            recipient=recipient,
            disclosed=sorted(outcome.disclosed),
            withheld=sorted(outcome.withheld),
        )
        for (family_id, recipient), outcome in sorted(outcomes.items())
    ]


def merge_routes(route_lists: Iterable[list[Route]]) -> list[Route]:
    """One route per (family, recipient), with the categories of every list."""
    merged: dict[tuple[str, str], RouteOutcome] = {}
    for routes in route_lists:
        for route in routes:
            outcome = merged.setdefault((route.family_id, route.recipient), RouteOutcome())
            outcome.disclosed.update(route.disclosed)
            outcome.withheld.update(route.withheld)
    return _routes(merged)


def record_identity(update: PlanUpdate) -> str:
    """The SHA-256 of an update's source and items: its canonical JSON without the update_id
    and the time received. The same native record posted again, even re-serialised, gives the
    same digest; a changed record with the same id another."""
    document = update.model_dump(mode="json", exclude={"update_id"})
    document["source"].pop("received_at", None)
    return hashlib.sha256(canonical_json(document)).hexdigest()


def visible_to(conn: sa.Connection, routes: list[Route], agency: str) -> list[Route]:
    """The routes the sending agency may see: those of families it is on the team of. Of any
    other family it learns nothing, not even that the person is enrolled (the answer looks
    like one about a person in no family)."""
    teams = routing.teams(conn, {route.family_id for route in routes})
    return [route for route in routes if agency in teams.get(route.family_id, ())]


def body_digest(body: bytes, content_type: str) -> str:
    return hashlib.sha256(content_type.encode() + b"\n" + body).hexdigest()


def _stored_answer(conn: sa.Connection, agency: str, key: str, digest: str) -> RecordAnswer | None:
    row = conn.execute(
        sa.select(records.c.body_sha256, records.c.response).where(
            records.c.agency == agency, records.c.idempotency_key == key
        )
    ).first()
    if row is None:
        return None
    if row.body_sha256 != digest:
        raise IdempotencyConflict(key)
    return RecordAnswer.model_validate(row.response)


def _check_updates(updates: list[PlanUpdate], agency: str, max_items: int) -> None:
    """Every update comes from `agency`, and the body holds at most `max_items` items."""
    for number, update in enumerate(updates):
        if update.source.agency.value != agency:
            raise RecordError(
                f"update {number} names source agency {update.source.agency.value!r}; "
                f"this endpoint takes records from {agency!r}",
                pointer=f"/{number}/source/agency",
            )
    item_count = sum(len(u.items) for u in updates)
    if item_count > max_items:
        raise RecordError(
            f"the body holds {item_count} items; at most {max_items}", pointer="", status=413
        )


def _seen_updates(
    conn: sa.Connection, agency: str, identities: Iterable[str]
) -> dict[str, tuple[str, list[Route]]]:
    """The updates among `identities` forwarded before: identity -> (record id, routes)."""
    wanted = sorted(set(identities))
    if not wanted:
        return {}
    c = updates_table.c
    rows = conn.execute(
        sa.select(c.content_sha256, c.record_id, c.routes).where(
            c.agency == agency, c.content_sha256.in_(wanted)
        )
    )
    return {
        row.content_sha256: (row.record_id, [Route.model_validate(r) for r in row.routes])
        for row in rows
    }


def _forward_new(
    services: Services,
    conn: sa.Connection,
    updates: list[PlanUpdate],
    *,
    agency: str,
    client_id: str,
    client_name: str,
    idempotency_key: str | None,
    digest: str,
    now: dt.datetime,
) -> RecordAnswer:
    """Forward the updates not forwarded before, in the caller's transaction; answer for all.

    Updates seen before keep their earlier routes and are not forwarded again. A body whose
    every update was seen, all in one earlier record, gets that record's answer again.
    """
    identities = [record_identity(update) for update in updates]
    seen = _seen_updates(conn, agency, identities)
    new: dict[str, PlanUpdate] = {}
    for update, identity in zip(updates, identities, strict=True):
        if identity not in seen:
            new.setdefault(identity, update)  # a body holding one record twice forwards it once
    record_id = uuid.uuid4().hex
    by_update = forward_by_update(
        services,
        conn,
        list(new.values()),
        agency=agency,
        client=client_name,
        record_id=record_id,
        now=now,
    )
    written = {i: u.update_id for i, u in new.items() if u.update_id in by_update}
    earlier = {seen_record for seen_record, _ in seen.values()}
    if not written and len(earlier) == 1:
        record_id = earlier.pop()  # the same record again: the same answer
    routes = merge_routes(
        [routes for _, routes in seen.values()] + [by_update[u] for u in written.values()]
    )
    answer = RecordAnswer(
        record_id=record_id, updates=len(updates), routes=visible_to(conn, routes, agency)
    )
    if written:
        conn.execute(
            updates_table.insert(),
            [
                {
                    "agency": agency,
                    "content_sha256": identity,
                    "update_id": update_id,
                    "record_id": record_id,
                    "routes": [r.model_dump(mode="json") for r in by_update[update_id]],
                    "received_at": now,
                }
                for identity, update_id in written.items()
            ],
        )
    if written or idempotency_key is not None:
        conn.execute(
            records.insert().values(
                # a key's row for an answer given before gets a row id of its own
                record_id=record_id if written else uuid.uuid4().hex,
                agency=agency,
                client_id=client_id,
                idempotency_key=idempotency_key,
                body_sha256=digest,
                response=answer.model_dump(mode="json"),
                received_at=now,
            )
        )
    return answer


def accept_record(
    services: Services,
    *,
    agency: str,
    body: bytes,
    content_type: str,
    client_id: str,
    client_name: str,
    idempotency_key: str | None,
    now: dt.datetime,
) -> RecordAnswer:
    """The whole of POST /v1/records/{agency}: translate, then forward in one transaction.

    Raises AdapterError (bad body) or RecordError before anything is stored. The same
    Idempotency-Key with the same body gets the stored answer and no second forward; so does
    the same record without a key (recognised by `record_identity`).
    """
    digest = body_digest(body, content_type)
    engine = services.engine
    if idempotency_key is not None:
        with reading(engine) as conn:
            stored = _stored_answer(conn, agency, idempotency_key, digest)
        if stored is not None:
            return stored
    updates = translate(agency, body, content_type, received_at=now)
    _check_updates(updates, agency, services.settings.max_items_per_record)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                return _forward_new(
                    services,
                    conn,
                    updates,
                    agency=agency,
                    client_id=client_id,
                    client_name=client_name,
                    idempotency_key=idempotency_key,
                    digest=digest,
                    now=now,
                )
        except sa.exc.IntegrityError:
            # Another request with the same Idempotency-Key, or with some of the same records,
            # committed first: answer as it did, or forward only what it did not.
            if idempotency_key is not None:
                with reading(engine) as conn:
                    stored = _stored_answer(conn, agency, idempotency_key, digest)
                if stored is not None:
                    return stored
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
