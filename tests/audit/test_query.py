"""Privacy-officer queries, cursor paging, the subject's access report, CSV and FHIR exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from fhir.resources.auditevent import AuditEvent as AuditEventR5
from fhir.resources.R4B.auditevent import AuditEvent as AuditEventR4

from audit import BadRange, EntryType, Filters, append, export_csv, query, subject_report
from audit.fhir import BALP_PROFILE, to_fhir_audit_event
from audit.query import CSV_COLUMNS, counts, daily_counts, export_fhir, iter_entries
from tests.helpers.audit import T0, create_tables, entry, person_id, subject

NAMES = {
    "nav": "NAV Oslo",
    "school": "Ruseløkka skole",
    "health": "Helsestasjon",
    "housing": "Boligkontoret",
}


@pytest.fixture
def engine(db_engine: sa.Engine) -> sa.Engine:
    create_tables(db_engine)
    with db_engine.begin() as conn:
        for day in range(3):
            now = T0 + dt.timedelta(days=day)
            append(conn, [entry(day * 10 + i) for i in range(10)], now=now)
        append(
            conn,
            [
                entry(
                    100,
                    event_type=EntryType.REFUSAL,
                    outcome="denied",
                    reason="no_consent",
                    subject_pseudonym=subject(0),
                    recipient="child_welfare",
                ),
                entry(
                    101,
                    event_type=EntryType.DELIVERY,
                    outcome="delivered",
                    message_id="msg-0",
                    recipient="school",
                    subject_pseudonym=subject(0),
                    details={"topic": "helhet.0301.school", "partition": 0, "offset": 17},
                ),
                entry(
                    102,
                    event_type=EntryType.ACCESS,
                    outcome="read",
                    source=None,
                    recipient=None,
                    subject_pseudonym=subject(0),
                    client="po-anne",
                    categories=[],
                ),
            ],
            now=T0 + dt.timedelta(days=4),
        )
    return db_engine


def test_filters_combine(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        everything = list(iter_entries(conn))
        assert len(everything) == 33
        for filters in [
            Filters(subject=subject(1)),
            Filters(recipient="school"),
            Filters(source="nav", category="income_support"),
            Filters(event_type=EntryType.REFUSAL),
            Filters(outcome="permitted", recipient="health"),
            Filters(since=T0 + dt.timedelta(days=1), until=T0 + dt.timedelta(days=2)),
        ]:
            got = query(conn, filters, limit=1000).entries
            expected = [
                e
                for e in reversed(everything)
                if (filters.subject is None or e.subject_pseudonym == filters.subject)
                and (filters.recipient is None or e.recipient == filters.recipient)
                and (filters.source is None or e.source == filters.source)
                and (filters.category is None or filters.category in e.categories)
                and (filters.event_type is None or e.event_type == filters.event_type)
                and (filters.outcome is None or e.outcome == filters.outcome)
                and (filters.since is None or e.recorded_at >= filters.since)
                and (filters.until is None or e.recorded_at < filters.until)
            ]
            assert got == expected
            assert got, filters


def test_cursor_pages_cover_everything_once(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        for order in ("asc", "desc"):
            seen: list[int] = []
            page = query(conn, Filters(source="nav"), limit=7, order=order)  # type: ignore[arg-type]
            seen += [e.index for e in page.entries]
            while page.next_cursor:
                page = query(conn, Filters(source="nav"), page.next_cursor, limit=7)
                seen += [e.index for e in page.entries]
            assert len(seen) == len(set(seen)) == 32
            assert seen == sorted(seen, reverse=order == "desc")
        with pytest.raises(BadRange):
            query(conn, cursor="not-a-cursor")
        with pytest.raises(BadRange):
            query(conn, limit=0)


def test_subject_report_names_every_recipient(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        report = subject_report(conn, subject(0), NAMES)
    # entry(n) has subject n % 5 and recipient [school, health, housing][n % 3]
    disclosed = [n for n in range(30) if n % 5 == 0]
    assert [line.index for line in report.disclosures] == disclosed
    assert report.recipients == sorted(
        {NAMES[["school", "health", "housing"][n % 3]] for n in disclosed}
    )
    first = report.disclosures[0]
    assert (first.recipient_name, first.purpose, first.basis) == (
        "Ruseløkka skole",
        "coordination",
        "consent:c0:1",
    )
    assert first.time == T0
    assert first.delivered_at == T0 + dt.timedelta(days=4)
    assert [line.reason for line in report.not_disclosed] == ["no_consent"]
    assert [line.event_type for line in report.accesses] == [EntryType.ACCESS]
    assert person_id(0) not in report.model_dump_json()


def test_csv_export(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        text = "".join(export_csv(conn, Filters(recipient="school"), NAMES))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_COLUMNS
    assert len(rows) == 1 + 10 + 1
    assert {r[CSV_COLUMNS.index("recipient_name")] for r in rows[1:]} == {"Ruseløkka skole"}


def test_csv_neutralises_formulas(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        append(conn, [entry(0, purpose="=HYPERLINK(1)")], now=T0)
        text = "".join(export_csv(conn, Filters(outcome="permitted")))
    assert "'=HYPERLINK(1)" in text


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_fhir_audit_event_is_balp_privacy_disclosure(engine: sa.Engine, version: str) -> None:
    with engine.connect() as conn:
        disclosure = query(conn, Filters(event_type=EntryType.DISCLOSURE), limit=1).entries[0]
        events = list(
            export_fhir(conn, Filters(subject=subject(0)), version=version, origin="helhet/0301")
        )  # type: ignore[arg-type]
    resource = to_fhir_audit_event(disclosure, version, origin="helhet/0301", agency_names=NAMES)  # type: ignore[arg-type]
    model = (AuditEventR4 if version == "R4" else AuditEventR5).model_validate(resource)
    assert model.meta.profile == [BALP_PROFILE]
    if version == "R4":
        assert (resource["type"]["code"], resource["subtype"][0]["code"]) == ("110106", "disclose")
        assert resource["outcome"] == "0"
    else:
        assert resource["category"][0]["coding"][0]["code"] == "110106"
        assert resource["code"]["coding"][0]["code"] == "disclose"
        assert resource["patient"]["identifier"]["value"] == disclosure.subject_pseudonym
    agents = {a["type"]["coding"][0]["code"]: a["who"] for a in resource["agent"]}
    assert agents["CST"]["identifier"]["value"] == disclosure.source
    assert agents["IRCP"]["display"] == NAMES[disclosure.recipient or ""]
    assert len(events) == 6 + 3
    refusal = next(e for e in events if "no_consent" in str(e))
    assert (
        refusal["outcome"] == "4" if version == "R4" else refusal["outcome"]["code"]["code"] == "4"
    )


def test_counts_by_column_follow_the_filters(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        everything = list(iter_entries(conn))
        by_outcome = counts(conn, Filters(), "outcome")
        by_recipient = counts(conn, Filters(event_type=EntryType.DISCLOSURE), "recipient")
        for_one = counts(conn, Filters(subject=subject(0)), "event_type")
    assert by_outcome == {"permitted": 30, "denied": 1, "delivered": 1, "read": 1}
    assert sum(by_outcome.values()) == len(everything)
    assert next(iter(by_outcome)) == "permitted"  # most first
    disclosures = [e for e in everything if e.event_type is EntryType.DISCLOSURE]
    assert by_recipient == {
        r: sum(1 for e in disclosures if e.recipient == r)
        for r in {e.recipient for e in disclosures}
    }
    assert for_one["refusal"] == for_one["delivery"] == for_one["access"] == 1


def test_daily_counts_are_by_utc_day_and_event_type(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        daily = daily_counts(conn, Filters())
        refusals = daily_counts(conn, Filters(event_type=EntryType.REFUSAL))
    day = [(T0 + dt.timedelta(days=d)).date().isoformat() for d in range(5)]
    assert daily == {
        (day[0], "disclosure"): 10,
        (day[1], "disclosure"): 10,
        (day[2], "disclosure"): 10,
        (day[4], "refusal"): 1,
        (day[4], "delivery"): 1,
        (day[4], "access"): 1,
    }
    assert refusals == {(day[4], "refusal"): 1}
