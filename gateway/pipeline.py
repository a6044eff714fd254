"""Records in -> routing -> one consent decision per (subject, recipient, category) -> minimise ->
seal -> ONE transaction: disclosure and refusal entries, outbox rows and the record's answer.

The relay (gateway/relay.py) publishes the outbox; nothing reaches Kafka without its entry here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from pydantic import BaseModel

from adapters.registry import translate
from audit.entries import Entry, EntryType
from consent.models import Decision
from consent.rules import PersonFacts
from gateway import families
from gateway.errors import GatewayError
from gateway.outbox import Batch, Message
from gateway.services import Services
from gateway.tables import records
from schemas import PlanItem, PlanUpdate

PURPOSE = "family_plan"
NO_RECIPIENT_KEY = "no_recipient_key"


class RecordError(GatewayError):
    """A record the gateway refuses before anything is stored."""

    status = 422

    def __init__(self, message: str, *, pointer: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.pointer = pointer
        self.status = status


class IdempotencyConflict(RecordError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was used before with a different body",
            pointer="header:Idempotency-Key",
            status=409,
        )


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


@dataclass
class _RouteAcc:
    disclosed: set[str] = field(default_factory=set)
    withheld: set[str] = field(default_factory=set)


@dataclass
class _Message:
    """One sealed message: items of one update about one subject, to one recipient, one basis."""

    update: PlanUpdate
    family_id: str
    recipient: str
    subject: str
    decision: Decision
    items: list[PlanItem]


@dataclass
class _Refusal:
    family_id: str
    recipient: str
    subject: str
    reason: str
    basis: str | None
    categories: list[str]
    items: int


def _sorted_unique(values: list[str] | set[str]) -> list[str]:
    return sorted(set(values))


@dataclass
class _Plan:
    """What one record leads to: messages to seal, refusals to log, the answer's routes."""

    messages: list[_Message] = field(default_factory=list)
    refusals: list[_Refusal] = field(default_factory=list)
    routes: dict[tuple[str, str], _RouteAcc] = field(default_factory=dict)


def _minimise(
    services: Services,
    plan: _Plan,
    update: PlanUpdate,
    items: list[PlanItem],
    *,
    subject: str,
    facts: PersonFacts,
    source: str,
    recipient: str,
    family_id: str,
    now: dt.datetime,
) -> None:
    """One decision per item for one recipient; group the permitted items by basis."""
    acc = plan.routes.setdefault((family_id, recipient), _RouteAcc())
    has_key = services.recipient_keys.get(recipient) is not None
    permitted: dict[str, tuple[Decision, list[PlanItem]]] = {}
    denied: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for item in items:
        category = item.category.value
        decision = services.consents.decide(
            subject, source, recipient, category, PURPOSE, now, facts
        )
        if decision.permit and has_key:
            permitted.setdefault(decision.basis or "", (decision, []))[1].append(item)
            acc.disclosed.add(category)
        else:
            reason = decision.reason.value if not decision.permit else NO_RECIPIENT_KEY
            denied[(reason, decision.basis)].append(category)
            acc.withheld.add(category)
    for decision, chosen in permitted.values():
        plan.messages.append(_Message(update, family_id, recipient, subject, decision, chosen))
    for (reason, basis), categories in denied.items():
        plan.refusals.append(
            _Refusal(
                family_id,
                recipient,
                subject,
                reason,
                basis,
                _sorted_unique(categories),
                len(categories),
            )
        )


def _decide(
    services: Services,
    conn: sa.Connection,
    updates: list[PlanUpdate],
    agency: str,
    now: dt.datetime,
) -> _Plan:
    """Route every subject to its families' teams (never back to the source) and minimise."""
    plan = _Plan()
    today = now.astimezone(dt.UTC).date()
    known: dict[str, tuple[list[families.Enrolment], PersonFacts | None]] = {}
    for update in updates:
        for subject in update.subjects:
            if subject not in known:  # a multi-record body often repeats its persons
                enrolled = families.enrolments(conn, subject, today)
                known[subject] = (
                    enrolled,
                    families.person_facts(conn, subject) if enrolled else None,
                )
            enrolments, facts = known[subject]
            if not enrolments:
                continue
            assert facts is not None  # enrolled persons have facts
            items = [item for item in update.items if item.subject == subject]
            for enrolment in enrolments:
                for recipient in enrolment.team:
                    if recipient != agency:
                        _minimise(
                            services,
                            plan,
                            update,
                            items,
                            subject=subject,
                            facts=facts,
                            source=agency,
                            recipient=recipient,
                            family_id=enrolment.family_id,
                            now=now,
                        )
    return plan


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
    plan = _decide(services, conn, updates, agency, now)
    if not plan.routes:
        return []

    batch = Batch(services, conn, client=client, now=now)
    for message in plan.messages:
        batch.add_message(
            Message(
                kind="plan_update",
                payload=message.update.model_copy(update={"items": message.items}),
                family_id=message.family_id,
                recipient=message.recipient,
                source=agency,
                subject=message.subject,
                categories=_sorted_unique([item.category.value for item in message.items]),
                purpose=PURPOSE,
                basis=message.decision.basis,
                reason=message.decision.reason.value,
                consent_id=message.decision.consent_id,
                record_id=record_id,
                details={"record_id": record_id, "items": len(message.items)},
            )
        )
    for refusal in plan.refusals:
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
    batch.write()
    return [
        Route(
            family_id=family_id,
            recipient=recipient,
            disclosed=_sorted_unique(acc.disclosed),
            withheld=_sorted_unique(acc.withheld),
        )
        for (family_id, recipient), acc in sorted(plan.routes.items())
    ]


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

    Raises AdapterError (bad body) or RecordError before anything is stored.
    """
    settings = services.settings
    digest = body_digest(body, content_type)
    engine = services.engine
    if idempotency_key is not None:
        with engine.connect() as conn:
            stored = _stored_answer(conn, agency, idempotency_key, digest)
        if stored is not None:
            return stored
    updates = translate(agency, body, content_type, received_at=now)
    for number, update in enumerate(updates):
        if update.source.agency.value != agency:
            raise RecordError(
                f"update {number} names source agency {update.source.agency.value!r}; "
                f"this endpoint takes records from {agency!r}",
                pointer=f"/{number}/source/agency",
            )
    item_count = sum(len(u.items) for u in updates)
    if item_count > settings.max_items_per_record:
        raise RecordError(
            f"the body holds {item_count} items; at most {settings.max_items_per_record}",
            pointer="",
            status=413,
        )
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
            answer = RecordAnswer(record_id=record_id, updates=len(updates), routes=routes)
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
