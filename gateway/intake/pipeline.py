"""Records in: translate -> route -> decide and minimise -> seal -> ONE transaction holding the
disclosure and refusal entries, the outbox rows and the record's answer.

The relay (gateway.delivery) publishes the outbox; nothing reaches Kafka without its entry here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import sqlalchemy as sa
from pydantic import BaseModel

from adapters.registry import translate
from audit.entries import Entry, EntryType
from gateway.db.tables import records
from gateway.errors import IdempotencyConflict, RecordError
from gateway.intake import routing
from gateway.intake.minimise import PURPOSE, Minimised, minimise
from gateway.intake.queue import Batch, Message
from gateway.intake.services import Services
from schemas import PlanUpdate


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
                details={"record_id": record_id, "items": len(message.items)},
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
                outcome="refused",
                reason=refusal.reason,
                client=client,
                family_id=refusal.family_id,
                details={"record_id": record_id, "items": refusal.items},
            )
        )


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
    """Route, decide, minimise and seal `updates` in the caller's transaction.

    Writes the disclosure and refusal entries and the outbox rows; returns the routes.
    """
    services.consents.refresh(conn)
    today = now.astimezone(dt.UTC).date()
    minimised = minimise(
        services, routing.targets(conn, updates, agency, today), source=agency, now=now
    )
    if not minimised.routes:
        return []
    batch = Batch(services, conn, client=client, now=now)
    _queue(batch, minimised, agency=agency, client=client, record_id=record_id)
    batch.write()
    return [
        Route(
            family_id=family_id,
            recipient=recipient,
            disclosed=sorted(outcome.disclosed),
            withheld=sorted(outcome.withheld),
        )
        for (family_id, recipient), outcome in sorted(minimised.routes.items())
    ]


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
    Idempotency-Key with the same body gets the stored answer and no second forward.
    """
    digest = body_digest(body, content_type)
    engine = services.engine
    if idempotency_key is not None:
        with engine.connect() as conn:
            stored = _stored_answer(conn, agency, idempotency_key, digest)
        if stored is not None:
            return stored
    updates = translate(agency, body, content_type, received_at=now)
    _check_updates(updates, agency, services.settings.max_items_per_record)
    record_id = uuid.uuid4().hex
    try:
        with engine.begin() as conn:
            routes = forward(
                services,
                conn,
                updates,
                agency=agency,
                client=client_name,
                record_id=record_id,
                now=now,
            )
            answer = RecordAnswer(
                record_id=record_id, updates=len(updates), routes=visible_to(conn, routes, agency)
            )
            if routes or idempotency_key is not None:
                conn.execute(
                    records.insert().values(
                        record_id=record_id,
                        agency=agency,
                        client_id=client_id,
                        idempotency_key=idempotency_key,
                        body_sha256=digest,
                        response=answer.model_dump(mode="json"),
                        received_at=now,
                    )
                )
    except sa.exc.IntegrityError:
        # Another request with the same Idempotency-Key committed first: answer as it did.
        if idempotency_key is None:
            raise
        with engine.connect() as conn:
            stored = _stored_answer(conn, agency, idempotency_key, digest)
        if stored is None:
            raise
        return stored
    return answer
