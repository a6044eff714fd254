"""Child welfare: the SSB Barnevern XML (application/xml) and the KS Fiks report of concern
(application/json, application/x-ndjson).
"""

from __future__ import annotations

import datetime as dt

from adapters._common import JsonAdapterBase
from adapters._json import RawRecord
from adapters.base import DEFAULT_MAX_BYTES, JSON, NDJSON, TEXT_XML, XML, resolve_received_at
from adapters.child_welfare.fiks import translate_fiks
from adapters.child_welfare.ssb import translate_barnevern
from adapters.child_welfare.xmlsafe import DEFAULT_MAX_DEPTH, parse_xml
from schemas import Agency, PlanUpdate


class ChildWelfareAdapter(JsonAdapterBase):
    """SSB Barnevern v4 XML (both layouts) and KS Fiks bekymringsmelding v2 JSON."""

    agency: Agency = Agency.CHILD_WELFARE
    content_types: tuple[str, ...] = (XML, TEXT_XML, JSON, NDJSON)
    record_types: tuple[str, ...] = ("ssb-barnevern/Sak", "bekymringsmelding")

    def __init__(
        self, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
    ) -> None:
        super().__init__(max_bytes=max_bytes)
        self.max_depth = max_depth

    def _translate(
        self, body: bytes, media: str, received_at: dt.datetime | None
    ) -> list[PlanUpdate]:
        if media in (XML, TEXT_XML):
            when = resolve_received_at(received_at)
            root = parse_xml(
                self.agency_name, body, max_bytes=self.max_bytes, max_depth=self.max_depth
            )
            return translate_barnevern(root, received_at=when)
        return super()._translate(body, media, received_at)

    def _record(self, raw: RawRecord, received_at: dt.datetime) -> PlanUpdate:
        return translate_fiks(raw, received_at)
