"""Translate housing records: bostøtte (saker, utbetalinger), living situation, eviction steps.

One PlanUpdate per record; every record names its person by personIdent.
"""

from __future__ import annotations

import datetime as dt

from adapters._common import JsonAdapterBase
from adapters._json import Node, RawRecord, root
from adapters.base import JSON, NDJSON, RecordBuilder
from adapters.housing import mapping as m
from schemas import Agency, Category, ItemKind, ItemStatus, PlanUpdate

_MONTHS = "januar februar mars april mai juni juli august september oktober november desember"


class HousingAdapter(JsonAdapterBase):
    """Housing: application/json (one record or an array) and application/x-ndjson."""

    agency: Agency = Agency.HOUSING
    content_types: tuple[str, ...] = (JSON, NDJSON)
    record_types: tuple[str, ...] = ("bostotte", "bosituasjon", "utkastelse")

    def _record(self, raw: RawRecord, received_at: dt.datetime) -> PlanUpdate:
        node = root(self.agency_name, raw)
        value = node.value
        if "saker" in value or "utbetalinger" in value:
            return self._bostotte(node, raw, received_at)
        if "botype" in value:
            return self._situation(node, raw, received_at)
        if "hendelse" in value:
            return self._eviction(node, raw, received_at)
        raise node.invalid(
            None,
            "a bostøtte record (saker/utbetalinger), a living situation (botype) "
            "or an eviction step (hendelse)",
        )

    def _open(
        self, node: Node, raw: RawRecord, system: str, kind: str, when: dt.datetime
    ) -> tuple[RecordBuilder, str]:
        """The record's builder (id and system as the record names them) and its person."""
        rid = node.string("id", required=False, max_length=200)
        system = node.string("system", required=False, max_length=200) or system
        builder = self._builder(raw, system, kind, rid or "", when)
        subject = builder.subject(node.value.get("personIdent"), node.at("personIdent"))
        if not rid:
            builder.record_id = f"{kind}/{subject}/{builder.content_digest[:16]}"
        return builder, subject

    def _bostotte(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        builder, subject = self._open(node, raw, "husbanken-bostotte", "bostotte", when)
        cases = node.objects("saker", required=False)
        payments = node.objects("utbetalinger", required=False)
        for case in cases:
            self._sak(builder, subject, case)
        for index, payment in enumerate(payments):
            self._utbetaling(builder, subject, index, payment)
        if not cases and not payments:
            raise node.invalid("saker", "at least one sak or utbetaling")
        return builder.build()

    def _sak(self, builder: RecordBuilder, subject: str, case: Node) -> None:
        """One month's bostøtte case: a decision once it has a vedtak, an event until then."""
        year = case.number("ar", integer=True, minimum=1990)
        month = self._month(case)
        assert year is not None
        if year > 2100:
            raise case.invalid("ar", "a year between 1990 and 2100")
        status = case.code("status", m.SAK_STATUS)
        assert status is not None
        role = case.string("rolle", required=False, max_length=40)
        if role is not None and role not in m.ROLLE:
            raise case.invalid("rolle", "HOVEDPERSON or BIPERSON", f"got {role!r}")
        decision = case.obj("vedtak", required=status == "VEDTATT")
        values: dict[str, object] = {"status": status, "ar": year, "mnd": month}
        if role:
            values["rolle"] = role
        code = None
        outcome = None
        description = None
        if decision is not None:
            kode = decision.req_str("kode", max_length=40)
            description = decision.string("beskrivelse", required=False, max_length=2000)
            vtype = decision.code("type", m.VEDTAK_TYPE)
            assert vtype is not None
            outcome = m.VEDTAK_TYPE[vtype]
            values["vedtakstype"] = vtype
            code = ("https://husbanken.no/bostotte/vedtakskode", kode, description)
        year = int(year)
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1)
        month_name = _MONTHS.split()[month - 1]
        title = f"Bostøtte {month_name} {year}: " + (outcome or "under behandling")
        builder.add(
            key=f"sak/{year}-{month:02d}",
            pointer=case.pointer,
            subject=subject,
            kind=ItemKind.DECISION if decision is not None else ItemKind.EVENT,
            category=Category.HOUSING_SUPPORT,
            title=title,
            description=description,
            status=m.SAK_STATUS[status],
            period=(start, end),
            code=code,
            values=values,
        )

    def _utbetaling(self, builder: RecordBuilder, subject: str, index: int, payment: Node) -> None:
        """One bostøtte payment: a completed event on its day."""
        day = payment.date("utbetalingsdato")
        amount = payment.number("belop")
        receiver = payment.string("mottaker", required=False, max_length=40)
        if receiver is not None and receiver not in m.MOTTAKER:
            raise payment.invalid("mottaker", "HUSSTAND or VERTSKOMMUNE", f"got {receiver!r}")
        assert day is not None and amount is not None
        values: dict[str, object] = {"belop": amount, "utbetalingsdato": day.isoformat()}
        if receiver:
            values["mottaker"] = receiver
        builder.add(
            key=f"utbetaling/{day.isoformat()}/{index}",
            pointer=payment.pointer,
            subject=subject,
            kind=ItemKind.EVENT,
            category=Category.HOUSING_SUPPORT,
            title=f"Bostøtte utbetalt: {amount:,.2f} kr".replace(",", " "),
            status=ItemStatus.COMPLETED,
            period=(day, day + dt.timedelta(days=1)),
            values=values,
        )

    def _month(self, case: Node) -> int:
        raw = case.value.get("mnd")
        if isinstance(raw, str) and raw.isdigit():
            month = int(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            month = raw
        else:
            raise case.invalid("mnd", "a month 1-12 (number or digits)")
        if not 1 <= month <= 12:
            raise case.invalid("mnd", "a month 1-12")
        return month

    def _situation(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        builder, subject = self._open(node, raw, "kommune-bolig", "bosituasjon", when)
        botype = node.code("botype", m.BOTYPE)
        assert botype is not None
        persons = node.number("antallPersoner", integer=True, minimum=1, required=False)
        since = node.date("fraDato", required=False)
        values: dict[str, object] = {"botype": botype}
        if persons is not None:
            values["antallPersoner"] = persons
        builder.add(
            key="bosituasjon",
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.OBSERVATION,
            category=Category.HOUSING_SITUATION,
            title=m.BOTYPE[botype],
            description=node.string("beskrivelse", required=False, max_length=2000),
            status=ItemStatus.RECORDED,
            period=(since, None),
            code=("urn:helhet:botype", botype, m.BOTYPE[botype]),
            values=values,
        )
        return builder.build()

    def _eviction(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        builder, subject = self._open(node, raw, "namsmann", "utkastelse", when)
        case_id = node.req_str("sakId", max_length=100)
        step = node.code("hendelse", m.EVICTION)
        assert step is not None
        day = node.date("dato")
        assert day is not None
        title, status = m.EVICTION[step]
        values: dict[str, object] = {"hendelse": step, "dato": day.isoformat(), "sakId": case_id}
        officer = node.string("namsmann", required=False, max_length=200)
        if officer:
            values["namsmann"] = officer
        builder.add(
            key=f"utkastelse/{case_id}/{step}",
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.EVENT,
            category=Category.HOUSING_EVICTION,
            title=title,
            description=node.string("beskrivelse", required=False, max_length=2000),
            status=status,
            period=(day, None),
            code=("urn:helhet:utkastelse", step, title),
            legal_basis={"law": "tvangsfullbyrdelsesloven", "chapter": "13"},
            values=values,
            source_ref=case_id,
        )
        return builder.build()
