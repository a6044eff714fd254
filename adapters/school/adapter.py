"""Translate FINT-style HAL JSON (fravarsregistrering, fravarsoversikt, elevtilrettelegging)
and Danish daily absence into education.attendance / education.support items.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from adapters._common import JsonAdapterBase
from adapters._json import Node, RawRecord, root
from adapters.base import COPENHAGEN, DEFAULT_MAX_BYTES, JSON, NDJSON, OSLO, RecordBuilder
from adapters.errors import InvalidIdentifier
from adapters.school import mapping as m
from schemas import Agency, Category, ItemKind, ItemStatus, PlanUpdate

_SYSTEMID = re.compile(r"/systemid/([^/?#]+)/?$", re.IGNORECASE)
_FNR = re.compile(r"/fodselsnummer/([^/?#]+)/?$", re.IGNORECASE)

FINT_SYSTEM = "FINT"


class SchoolAdapter(JsonAdapterBase):
    """School: application/json (a resource, an array, or a FINT collection) and NDJSON."""

    agency: Agency = Agency.SCHOOL
    content_types: tuple[str, ...] = (JSON, NDJSON)
    record_types: tuple[str, ...] = (
        "fravarsregistrering",
        "fravarsoversikt",
        "elevtilrettelegging",
        "dk-fravaer",
    )
    collection_keys = ("_embedded._entries",)

    def __init__(
        self,
        *,
        absence_types: Mapping[str, str] | None = None,
        support_types: Mapping[str, str] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__(max_bytes=max_bytes)
        self.absence_types = dict(m.ABSENCE_TYPES if absence_types is None else absence_types)
        self.support_types = dict(m.SUPPORT_TYPES if support_types is None else support_types)

    def _record(self, raw: RawRecord, received_at: dt.datetime) -> PlanUpdate:
        node = root(self.agency_name, raw)
        value = node.value
        links = value.get("_links")
        links = links if isinstance(links, dict) else {}
        if "fravaerstype" in value:
            return self._danish(node, raw, received_at)
        if "fravarsprosent" in value:
            return self._overview(node, raw, received_at)
        if "fravarstype" in links:
            return self._registration(node, raw, received_at)
        if "tilrettelegging" in links:
            return self._support(node, raw, received_at)
        raise node.invalid(
            None,
            "a fravarsregistrering (_links.fravarstype), a fravarsoversikt (fravarsprosent), "
            "an elevtilrettelegging (_links.tilrettelegging) or a Danish absence (fravaerstype)",
        )

    # --- FINT helpers ---

    def _fint(
        self, node: Node, raw: RawRecord, kind: str, when: dt.datetime
    ) -> tuple[RecordBuilder, str]:
        """The builder of a FINT resource (record id: its systemId) and the pupil it links to."""
        rid = node.req_obj("systemId").req_str("identifikatorverdi", max_length=200)
        builder = self._builder(raw, FINT_SYSTEM, kind, rid, when)
        href, entry = self._href(node, "elev")
        match = _FNR.search(href)
        if match is None:
            raise InvalidIdentifier(
                self.agency_name,
                "a link to the pupil by fødselsnummer (…/fodselsnummer/<11 digits>)",
                record=builder.record_label,
                pointer=entry.at("href"),
                detail=f"got {href!r}",
            )
        return builder, builder.subject(match.group(1), entry.at("href"))

    def _href(self, node: Node, rel: str) -> tuple[str, Node]:
        """The first _links.<rel>[].href and the link object it stands in."""
        entry = node.req_obj("_links").objects(rel, min_items=1)[0]
        return entry.req_str("href", max_length=2000), entry

    def _link(self, node: Node, rel: str) -> tuple[str, str]:
        """The code at the end of a _links.<rel> href (…/systemid/<code>) and its pointer."""
        href, entry = self._href(node, rel)
        match = _SYSTEMID.search(href)
        if match is None:
            raise entry.invalid("href", f"a {rel} link ending in /systemid/<code>", f"got {href!r}")
        return match.group(1), entry.at("href")

    def _coded_link(
        self, node: Node, builder: RecordBuilder, rel: str, table: Mapping[str, str]
    ) -> str:
        """A _links.<rel> code that `table` knows."""
        code, pointer = self._link(node, rel)
        if code not in table:
            raise builder.invalid(
                pointer, f"a {rel} code: " + ", ".join(sorted(table)), f"got {code!r}"
            )
        return code

    def _period(self, node: Node, required: bool) -> tuple[dt.date | None, dt.date | None]:
        period = node.obj("periode", required=required)
        if period is None:
            return None, None
        start = period.date_or_datetime("start", OSLO)
        end = period.date_or_datetime("slutt", OSLO, required=False)
        if start is not None and end is not None and end < start:
            raise period.invalid("slutt", "an end on or after the start")
        return start, end

    # --- record types ---

    def _registration(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        builder, subject = self._fint(node, raw, "fravarsregistrering", when)
        rid = builder.record_id
        code = self._coded_link(node, builder, "fravarstype", self.absence_types)
        period = node.req_obj("periode")
        start = period.datetime("start", OSLO)
        end = period.datetime("slutt", OSLO)
        assert start is not None and end is not None
        if end < start:
            raise period.invalid("slutt", "an end on or after the start")
        on_diploma = node.boolean("foresPaVitnemal")
        comment = node.string("kommentar", required=False, max_length=2000)
        hours = round((end - start).total_seconds() / 3600, 2)
        first_day = start.astimezone(OSLO).date()
        last_day = end.astimezone(OSLO).date()
        builder.add(
            key=rid,
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.OBSERVATION,
            category=Category.EDUCATION_ATTENDANCE,
            title=f"Fravær: {self.absence_types[code]}",
            description=comment,
            status=ItemStatus.RECORDED,
            period=(first_day, last_day + dt.timedelta(days=1)),
            code=("https://fint.no/utdanning/kodeverk/fravarstype", code, self.absence_types[code]),
            values={
                "fravarstimer": hours,
                "start": start.isoformat(),
                "slutt": end.isoformat(),
                "foresPaVitnemal": on_diploma,
            },
            source_ref=rid,
        )
        return builder.build()

    def _overview(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        builder, subject = self._fint(node, raw, "fravarsoversikt", when)
        rid = builder.record_id
        pct = node.req_obj("fravarsprosent")
        hours = pct.number("fravarstimer")
        percent = pct.number("prosent")
        teaching = pct.number("undervisningstimer", required=False)
        assert percent is not None
        if percent > 100:
            raise pct.invalid("prosent", "a percentage between 0 and 100")
        start, end = self._period(node, required=False)
        on_diploma = node.boolean("foresPaVitnemal", required=False)
        values: dict[str, object] = {"fravarstimer": hours, "prosent": percent}
        if teaching is not None:
            values["undervisningstimer"] = teaching
        if on_diploma is not None:
            values["foresPaVitnemal"] = on_diploma
        links = node.req_obj("_links")
        for rel in ("fag", "undervisningsgruppe"):
            if rel in links.value:
                values[rel] = self._link(node, rel)[0]
        subject_name = values.get("fag")
        builder.add(
            key=rid,
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.OBSERVATION,
            category=Category.EDUCATION_ATTENDANCE,
            title=f"Fraværsoversikt{f' {subject_name}' if subject_name else ''}: {percent:g} %",
            status=ItemStatus.RECORDED,
            period=(start, end),
            values=values,
            source_ref=rid,
        )
        return builder.build()

    def _support(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        builder, subject = self._fint(node, raw, "elevtilrettelegging", when)
        rid = builder.record_id
        code = self._coded_link(node, builder, "tilrettelegging", self.support_types)
        start, end = self._period(node, required=True)
        description = node.string("beskrivelse", required=False, max_length=5000)
        today = when.astimezone(OSLO).date()
        if end is not None and end <= today:
            status = ItemStatus.COMPLETED
        elif start is not None and start > today:
            status = ItemStatus.PLANNED
        else:
            status = ItemStatus.IN_PROGRESS
        builder.add(
            key=rid,
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.MEASURE,
            category=Category.EDUCATION_SUPPORT,
            title=self.support_types[code],
            description=description,
            status=status,
            period=(start, end),
            code=(
                "https://fint.no/utdanning/kodeverk/tilrettelegging",
                code,
                self.support_types[code],
            ),
            source_ref=rid,
        )
        return builder.build()

    def _danish(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        kind_raw = node.req_str("fravaerstype", max_length=100).strip().lower()
        kind = m.DANISH_ALIASES.get(kind_raw, kind_raw)
        if kind not in m.DANISH_ABSENCE:
            raise node.invalid(
                "fravaerstype", "one of " + ", ".join(m.DANISH_ABSENCE), f"got {kind_raw!r}"
            )
        day = node.date("dato")
        assert day is not None
        rid = node.string("id", required=False, max_length=200)
        cpr_raw = node.value.get("cpr")
        school = node.string("skole", required=False, max_length=200)
        builder = self._builder(raw, "dk-fravaer", "dk-fravaer", rid or "", when)
        subject = builder.subject(cpr_raw, node.at("cpr"))
        if not rid:
            builder.record_id = f"{subject}/{day.isoformat()}/{kind}"
        lessons = node.number("lektioner", required=False, integer=True)
        values: dict[str, object] = {"fravaerstype": kind, "dato": day.isoformat()}
        if lessons is not None:
            values["lektioner"] = lessons
        registered = node.datetime("registreret", COPENHAGEN, required=False)
        if registered is not None:
            values["registreret"] = registered.isoformat()
        builder.add(
            key=builder.record_id,
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.OBSERVATION,
            category=Category.EDUCATION_ATTENDANCE,
            title=m.DANISH_ABSENCE[kind],
            description=node.string("kommentar", required=False, max_length=2000),
            status=ItemStatus.RECORDED,
            period=(day, day + dt.timedelta(days=1)),
            code=("urn:helhet:dk-fravaerstype", kind, m.DANISH_ABSENCE[kind]),
            responsible=(school, None),
            values=values,
            source_ref=rid,
        )
        return builder.build()
