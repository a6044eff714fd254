"""The gateway benchmark's workload: synthetic families of every kind the demo knows, their
consents, and native multi-record bodies from all five agencies made from the adapters' examples.

Deterministic for a seed. Persons are synthetic (month + 40, valid check digits); each round is
a new version of every record (`gateway.demo.records.render`'s revision), so the gateway never
recognises a record as sent before.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from adapters.registry import translate
from gateway.demo.municipality import DemoFamily, consent_requests, generate
from gateway.demo.records import records_for

NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Body:
    """One POST /v1/records/{agency}: its content type, bytes and how many records (PlanUpdates,
    as the agency's adapter reads them) it holds."""

    agency: str
    content_type: str
    data: bytes
    records: int

    def as_json(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "content_type": self.content_type,
            "data": self.data.decode("utf-8"),
            "records": self.records,
        }


def families(count: int, seed: int, today: dt.date) -> list[DemoFamily]:
    return generate(count, seed, today)


def consents(family: DemoFamily, now: dt.datetime) -> list[dict[str, Any]]:
    """The family's consent bodies (those the demo would withdraw are kept: nothing withdraws
    during a benchmark)."""
    return [body for body, _fate in consent_requests(family, now)]


def _school_collection(bodies: list[bytes]) -> bytes:
    """Several FINT absence collections merged into one (one HAL collection of all entries)."""
    entries: list[Any] = []
    for body in bodies:
        entries.extend(json.loads(body)["_embedded"]["_entries"])
    return json.dumps(
        {
            "_embedded": {"_entries": entries},
            "total_items": len(entries),
            "_links": {"self": [{"href": "https://fint.example/utdanning/elev/fravar"}]},
        },
        ensure_ascii=False,
    ).encode("utf-8")


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def bodies(
    enrolled: list[DemoFamily], today: dt.date, *, rounds: int, batch: int, first_round: int = 0
) -> list[Body]:
    """Every agency's records about every family, `rounds` versions of each, grouped into bodies
    of up to `batch` records in the agency's own format: NDJSON for the JSON formats (NAV's
    cards and §14a decisions, FHIR bundles, housing), one FINT collection for several pupils,
    and one SSB Barnevern XML document per case. Agencies interleave, as they would."""
    per_agency: dict[str, list[Body]] = defaultdict(list)
    for revision in range(first_round, first_round + rounds):
        lines: dict[str, list[bytes]] = defaultdict(list)
        school: list[bytes] = []
        for family in enrolled:
            for record in records_for(family, today, revision=revision + 1):
                if record.agency == "school":
                    school.append(record.body)
                elif record.content_type == "application/xml":
                    per_agency[record.agency].append(
                        Body(record.agency, record.content_type, record.body, 1)
                    )
                elif record.content_type == NDJSON:
                    lines[record.agency].extend(
                        line.encode("utf-8")
                        for line in record.body.decode("utf-8").splitlines()
                        if line.strip()
                    )
                else:
                    compact = json.dumps(json.loads(record.body), ensure_ascii=False)
                    lines[record.agency].append(compact.encode("utf-8"))
        for agency, agency_lines in lines.items():
            for chunk in _chunks(agency_lines, batch):
                per_agency[agency].append(Body(agency, NDJSON, b"\n".join(chunk), len(chunk)))
        for chunk in _chunks(school, max(1, batch // 3)):  # a collection holds ~3 records each
            data = _school_collection(chunk)
            per_agency["school"].append(Body("school", "application/json", data, len(chunk)))
    for queue in per_agency.values():  # count records as the adapters will (and check them)
        for i, body in enumerate(queue):
            updates = translate(body.agency, body.data, body.content_type)
            queue[i] = Body(body.agency, body.content_type, body.data, len(updates))
    out: list[Body] = []
    queues = [list(reversed(queue)) for _agency, queue in sorted(per_agency.items())]
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop())
    return out
