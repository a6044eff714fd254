"""The plan's life: open while the family is enrolled; closed when the enrolment period ends (or
the coordinator ends it), its family_plan consents lapsing; deleted after the retention period.

What is deleted: the plan's entries and every version, the family's registry entry and members,
and the outbox rows of its messages. Kept: the disclosure log (pseudonyms only) and the consent
records (the evidence each logged disclosure rests on), and a plan tombstone without content.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from consent import store as consents
from consent.models import DEFAULT_PURPOSE, ConsentStatus
from gateway.clock import utcnow
from gateway.config.settings import Settings
from gateway.db import outbox as outbox_states
from gateway.db.engine import reading
from gateway.db.tables import families, family_members, outbox, plan_entries, plans
from gateway.errors import PlanClosed, UnknownFamily
from gateway.intake import families as registry
from gateway.intake import routing
from gateway.intake.consents import withdraw_consent
from gateway.intake.family_index import record_change
from gateway.intake.services import Services
from gateway.plan import store
from schemas import Family, Period

log = logging.getLogger("helhet.plan")

LIFECYCLE_CLIENT = "helhet:plan-lifecycle"
KEPT = [
    "the disclosure log's entries (pseudonyms, never person numbers)",
    "the consent records, the evidence the logged disclosures rest on",
    "a tombstone of the plan: family id, dates and status, no content",
]


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


@dataclass
class Holdings:
    """What the gateway holds about a family's plan now (counts of rows)."""

    plan_entries: int = 0
    plan_entry_versions: int = 0
    family_registry: int = 0
    family_members: int = 0
    outbox_rows: int = 0


@dataclass
class Retention:
    """When a plan closes and when what it holds is deleted."""

    family_id: str
    status: str  # open | closed | deleted
    enrolment: dict[str, str | None]
    closes_at: dt.datetime | None  # None: the enrolment has no end yet
    closed_at: dt.datetime | None
    delete_after: dt.datetime | None
    deleted_at: dt.datetime | None
    retention_days: int
    will_delete: Holdings
    kept: list[str] = field(default_factory=lambda: list(KEPT))

    def view(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "family_id": self.family_id,
            "status": self.status,
            "enrolment": self.enrolment,
            "closes_at": iso(self.closes_at),
            "closed_at": iso(self.closed_at),
            "delete_after": iso(self.delete_after),
            "deleted_at": iso(self.deleted_at),
            "retention_days": self.retention_days,
            "will_delete": asdict(self.will_delete),
            "kept": self.kept,
        }


def _count(conn: sa.Connection, table: sa.Table, *where: Any) -> int:
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    )


def holdings(conn: sa.Connection, family_id: str) -> Holdings:
    entries = conn.execute(
        sa.select(sa.func.count(sa.distinct(plan_entries.c.entry_id)), sa.func.count()).where(
            plan_entries.c.family_id == family_id
        )
    ).one()
    return Holdings(
        plan_entries=int(entries[0]),
        plan_entry_versions=int(entries[1]),
        family_registry=_count(conn, families, families.c.family_id == family_id),
        family_members=_count(conn, family_members, family_members.c.family_id == family_id),
        outbox_rows=_count(conn, outbox, outbox.c.family_id == family_id),
    )


def _enrolled(family: Family, now: dt.datetime) -> bool:
    """Whether the family's period has not ended by `now` (open-ended counts)."""
    end = family.period.end if family.period is not None else None
    return end is None or end > now.astimezone(dt.UTC).date()


def _family(conn: sa.Connection, family_id: str) -> Family | None:
    try:
        family, _ = registry.get(conn, family_id)
    except UnknownFamily:
        return None
    return family


def retention(
    conn: sa.Connection, settings: Settings, family_id: str, now: dt.datetime
) -> Retention:
    """What will be deleted when, for one family's plan (404 if neither exists)."""
    plan = store.get_plan(conn, family_id)
    family = _family(conn, family_id)
    if plan is None and family is None:
        raise UnknownFamily(f"no family {family_id!r}", pointer="path:family_id")
    period = family.period if family is not None else None
    end = period.end if period is not None else None
    closes_at = _start_of(end) if end is not None else None
    days = settings.plan_retention_days
    status = plan.status if plan is not None else store.OPEN
    closed_at = plan.closed_at if plan is not None else None
    delete_after = plan.delete_after if plan is not None else None
    if delete_after is None and closes_at is not None:
        delete_after = max(closes_at, now) + dt.timedelta(days=days)
    return Retention(
        family_id=family_id,
        status=status,
        enrolment={
            "start": period.start.isoformat() if period and period.start else None,
            "end": end.isoformat() if end else None,
        },
        closes_at=closed_at or closes_at,
        closed_at=closed_at,
        delete_after=delete_after,
        deleted_at=plan.deleted_at if plan is not None else None,
        retention_days=days,
        will_delete=holdings(conn, family_id),
    )


def all_retention(conn: sa.Connection, settings: Settings, now: dt.datetime) -> list[Retention]:
    """Every family's and every plan's retention, by family id."""
    ids = {row.family_id for row in conn.execute(sa.select(families.c.family_id))}
    ids |= {row.family_id for row in conn.execute(sa.select(plans.c.family_id))}
    return [retention(conn, settings, family_id, now) for family_id in sorted(ids)]


@dataclass
class Closed:
    family_id: str
    consents_lapsed: int
    notices: int


def _lapse_consents(
    services: Services, conn: sa.Connection, family: Family, *, reason: str, now: dt.datetime
) -> tuple[int, int]:
    """Withdraw the family_plan consents of members enrolled in no other active family."""
    today = now.astimezone(dt.UTC).date()
    lapsed = notices = 0
    for member in family.members:
        elsewhere = [
            e for e in routing.enrolments(conn, member.id, today) if e.family_id != family.family_id
        ]
        if elsewhere:
            continue  # the person's consents still serve another family's plan
        for record in consents.list_for_subject(conn, member.id):
            if record.status is not ConsentStatus.ACTIVE or record.purpose != DEFAULT_PURPOSE:
                continue
            if record.valid_until is not None and record.valid_until <= now:
                continue  # already ended by its own period
            _, sent = withdraw_consent(
                services,
                conn,
                record.consent_id,
                reason=f"lapsed: {reason}",
                client=LIFECYCLE_CLIENT,
                now=now,
            )
            lapsed += 1
            notices += sent
    return lapsed, notices


def close(
    services: Services,
    conn: sa.Connection,
    family_id: str,
    *,
    reason: str,
    by: str,
    now: dt.datetime,
) -> Closed:
    """Close the plan now: the enrolment ends today (if it had not), consents lapse, and the
    deletion is scheduled after the retention period. Raises PlanClosed if already closed."""
    family, _ = registry.get(conn, family_id)
    store.open_plan(conn, family_id, by=by, now=now)
    today = now.astimezone(dt.UTC).date()
    period = family.period or Period()
    if period.end is None or period.end > today:
        end = max(today, period.start) if period.start else today
        family, _ = registry.patch(
            conn,
            family_id,
            registry.FamilyPatch(period=Period(start=period.start, end=end)),
            now=now,
        )
    conn.execute(
        plans.update()
        .where(plans.c.family_id == family_id)
        .values(
            status=store.CLOSED,
            closed_at=now,
            closed_by=by,
            close_reason=reason,
            delete_after=now + dt.timedelta(days=services.settings.plan_retention_days),
        )
    )
    lapsed, notices = _lapse_consents(services, conn, family, reason=reason, now=now)
    return Closed(family_id, lapsed, notices)


def delete(conn: sa.Connection, family_id: str, now: dt.datetime) -> bool:
    """Delete what the plan holds; False (try later) while messages of the family still wait in
    the outbox, or while the family is enrolled again (its period was extended after closing)."""
    waiting = _count(
        conn,
        outbox,
        outbox.c.family_id == family_id,
        outbox.c.status.in_(outbox_states.UNFINISHED),
    )
    family = _family(conn, family_id)
    if waiting or (family is not None and _enrolled(family, now)):
        return False
    conn.execute(plan_entries.delete().where(plan_entries.c.family_id == family_id))
    conn.execute(outbox.delete().where(outbox.c.family_id == family_id))
    conn.execute(family_members.delete().where(family_members.c.family_id == family_id))
    conn.execute(families.delete().where(families.c.family_id == family_id))
    record_change(conn, family_id)
    conn.execute(
        plans.update()
        .where(plans.c.family_id == family_id)
        .values(status=store.DELETED, deleted_at=now, close_reason=None, closed_by=None)
    )
    return True


@dataclass
class SweepReport:
    closed: list[Closed] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # due, but messages still wait in the outbox (or the family is enrolled again)
    waiting: list[str] = field(default_factory=list)


def _ended(conn: sa.Connection, today: dt.date) -> list[str]:
    """Families whose enrolment has ended and whose plan is not closed yet."""
    not_open = {
        row.family_id
        for row in conn.execute(sa.select(plans.c.family_id).where(plans.c.status != store.OPEN))
    }
    ended = []
    for row in conn.execute(sa.select(families.c.family_id, families.c.document)):
        end = (row.document.get("period") or {}).get("end")
        if end and dt.date.fromisoformat(end) <= today and row.family_id not in not_open:
            ended.append(row.family_id)
    return sorted(ended)


def sweep(services: Services, now: dt.datetime) -> SweepReport:
    """Close every plan whose enrolment ended; delete every plan past its retention."""
    report = SweepReport()
    today = now.astimezone(dt.UTC).date()
    with reading(services.engine) as conn:
        ended = _ended(conn, today)
    for family_id in ended:
        try:
            with services.engine.begin() as conn:
                services.consents.refresh(conn)
                report.closed.append(
                    close(
                        services,
                        conn,
                        family_id,
                        reason="the family's enrolment period ended",
                        by=LIFECYCLE_CLIENT,
                        now=now,
                    )
                )
        except (PlanClosed, sa.exc.IntegrityError):
            continue  # another process closed it first
    if report.closed:
        services.refresh_after_commit()
    with reading(services.engine) as conn:
        due = [
            row.family_id
            for row in conn.execute(
                sa.select(plans.c.family_id)
                .where(plans.c.status == store.CLOSED, plans.c.delete_after <= now)
                .order_by(plans.c.family_id)
            )
        ]
    for family_id in due:
        with services.engine.begin() as conn:
            (report.deleted if delete(conn, family_id, now) else report.waiting).append(family_id)
    return report


class SweepThread:
    """The sweep inside `helhet serve`: at start and then every plan_sweep_interval_seconds."""

    def __init__(self, services: Services, interval: float) -> None:
        self.services = services
        self.interval = interval
        self.last_error: str | None = None
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name="helhet-plan-sweep")

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                report = sweep(self.services, utcnow())
                self.last_error = None
                if report.closed or report.deleted:
                    log.info(
                        "plans closed: %d, deleted: %d", len(report.closed), len(report.deleted)
                    )
            except Exception as exc:  # the database is away: try again next round
                self.last_error = f"plan sweep failed: {exc}"
                log.exception("plan sweep failed")
            if self.stop_event.wait(self.interval):
                return

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
