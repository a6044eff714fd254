"""Translate the SSB "Barnevern" XML (v4, and the older layout with identity on <Sak>).

One PlanUpdate per <Sak>; each Melding, Undersokelse, Plan, Tiltak, Vedtak, Ettervern,
OversendelseFylkesnemnd and Flytting becomes one item. Pointers are XPaths.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from adapters.base import OSLO, RecordBuilder, local_datetime
from adapters.child_welfare import codes as c
from adapters.errors import AdapterError, InvalidIdentifier, InvalidRecord
from schemas import Agency, Category, ItemKind, ItemStatus, PlanUpdate

LAYOUT_V4 = "v4: identity in <Personalia>"
LAYOUT_LEGACY = "legacy: identity attributes on <Sak>"
CODE_SYSTEM = "https://www.ssb.no/barnevern/kodeliste"

_SAK_CHILDREN = frozenset(
    {
        "Personalia",
        "Melding",
        "Undersokelse",
        "Plan",
        "Tiltak",
        "Vedtak",
        "Ettervern",
        "OversendelseFylkesnemnd",
        "Flytting",
        "Relasjon",
        "Slettet",
    }
)
# element type -> (kind, category) (also used for <Slettet Type=…>)
_KINDS: dict[str, tuple[ItemKind, Category]] = {
    "Melding": (ItemKind.EVENT, Category.CHILD_WELFARE_REPORT),
    "Undersokelse": (ItemKind.EVENT, Category.CHILD_WELFARE_REPORT),
    "Plan": (ItemKind.MEASURE, Category.CHILD_WELFARE_MEASURE),
    "Tiltak": (ItemKind.MEASURE, Category.CHILD_WELFARE_MEASURE),
    "Vedtak": (ItemKind.DECISION, Category.CHILD_WELFARE_MEASURE),
    "Ettervern": (ItemKind.MEASURE, Category.CHILD_WELFARE_MEASURE),
    "OversendelseFylkesnemnd": (ItemKind.EVENT, Category.CHILD_WELFARE_MEASURE),
    "Flytting": (ItemKind.EVENT, Category.CHILD_WELFARE_MEASURE),
}
VEDTAK_STATUS: dict[str, ItemStatus] = {
    "1": ItemStatus.RECORDED,  # Godkjent
    "2": ItemStatus.IN_PROGRESS,  # Begjæring oversendt nemnd
    "3": ItemStatus.CANCELLED,  # Utgår / bortfalt etter BVL
    "4": ItemStatus.COMPLETED,  # Avslått / avsluttet
}
ETTERVERN_STATUS: dict[str, ItemStatus] = {
    "1": ItemStatus.COMPLETED,
    "2": ItemStatus.CANCELLED,
    "3": ItemStatus.CANCELLED,
}


class X:
    """An element with its XPath; getters refuse what is missing or malformed, naming the path."""

    __slots__ = ("agency", "el", "path", "record")

    def __init__(self, agency: str, el: ET.Element, path: str, record: str | None) -> None:
        self.agency, self.el, self.path, self.record = agency, el, path, record

    def invalid(self, where: str | None, expected: str, detail: str | None = None) -> InvalidRecord:
        pointer = self.path if where is None else f"{self.path}/{where}"
        return InvalidRecord(
            self.agency, expected, record=self.record, pointer=pointer, detail=detail
        )

    def children(self, name: str) -> list[X]:
        found = [child for child in self.el if child.tag == name]
        if len(found) == 1:
            return [X(self.agency, found[0], f"{self.path}/{name}", self.record)]
        return [
            X(self.agency, el, f"{self.path}/{name}[{i}]", self.record)
            for i, el in enumerate(found, start=1)
        ]

    def child(self, name: str, *, required: bool = True) -> X | None:
        found = self.children(name)
        if not found:
            if required:
                raise self.invalid(name, f"a <{name}> element", "the element is missing")
            return None
        return found[0]

    def attr(self, name: str, *, required: bool = True, max_length: int = 2000) -> str | None:
        value = self.el.get(name)
        if value is None or not value.strip():
            if required:
                raise self.invalid(f"@{name}", f"the attribute {name}", "it is missing or empty")
            return None
        if len(value) > max_length:
            raise self.invalid(f"@{name}", f"at most {max_length} characters")
        return value.strip()

    def req(self, name: str, max_length: int = 2000) -> str:
        value = self.attr(name, max_length=max_length)
        assert value is not None
        return value

    def code(self, name: str, table: Mapping[str, str], *, required: bool = True) -> str | None:
        value = self.attr(name, required=required, max_length=20)
        if value is None:
            return None
        if value not in table:
            raise self.invalid(
                f"@{name}", "a code from SSB's code list (Kodelister.md)", f"got {value!r}"
            )
        return value

    def date(self, name: str, *, required: bool = True) -> dt.date | None:
        value = self.attr(name, required=required, max_length=40)
        if value is None:
            return None
        try:
            if _date_ok(value):
                return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
        raise self.invalid(f"@{name}", "an xs:date (YYYY-MM-DD)", f"got {value!r}")

    def req_date(self, name: str) -> dt.date:
        value = self.date(name)
        assert value is not None
        return value

    def text(self, name: str, *, required: bool = True) -> str | None:
        el = self.child(name, required=required)
        if el is None:
            return None
        value = (el.el.text or "").strip()
        if not value:
            if required:
                raise el.invalid(None, f"text in <{name}>")
            return None
        if len(value) > 20:
            raise el.invalid(None, f"<{name}> of at most 20 characters")
        return value

    @property
    def deleted(self) -> bool:
        return (self.el.get("ErSlettet") or "").strip().lower() in ("true", "1")


def _date_ok(value: str) -> bool:
    # xs:date, optionally with a zone: 2021-01-01, 2021-01-01Z, 2021-01-01+01:00
    return len(value) == 10 or value[10:] == "Z" or (len(value) == 16 and value[10] in "+-")


def translate_barnevern(root: ET.Element, *, received_at: dt.datetime) -> list[PlanUpdate]:
    agency = Agency.CHILD_WELFARE.value
    top = X(agency, root, "/Barnevern", None)
    if root.tag != "Barnevern":
        raise InvalidRecord(agency, "a <Barnevern> root element", pointer=f"/{root.tag}")
    for child in root:
        if child.tag not in ("Fagsystem", "Avgiver", "Sak"):
            raise top.invalid(child.tag, "only Fagsystem, Avgiver and Sak under <Barnevern>")
    top.req("Id", max_length=50)
    extracted = top.req("DatoUttrekk", max_length=60)
    try:
        extracted_at = local_datetime(dt.datetime.fromisoformat(extracted), OSLO)
    except ValueError:
        raise top.invalid("@DatoUttrekk", "an xs:dateTime", f"got {extracted!r}") from None
    system_el = top.child("Fagsystem")
    avgiver = top.child("Avgiver")
    assert system_el is not None and avgiver is not None
    system = system_el.req("Navn", max_length=200)
    vendor = system_el.attr("Leverandor", required=False, max_length=200)
    municipality = avgiver.req("Kommunenummer", max_length=4)
    municipality_name = avgiver.req("Kommunenavn", max_length=200)
    avgiver.req("Organisasjonsnummer", max_length=9)
    cases = top.children("Sak")
    if not cases:
        raise top.invalid("Sak", "at least one <Sak>")
    context = {
        "system": f"{system} ({vendor})" if vendor else system,
        "kommunenummer": municipality,
        "kommunenavn": municipality_name,
        "uttrekk": extracted_at.isoformat(),
    }
    updates = []
    for sak in cases:
        label = f"Sak {sak.el.get('Id') or sak.path}"
        sak.record = label
        try:
            updates.append(_sak(sak, context, ET.tostring(sak.el), received_at))
        except AdapterError as exc:
            raise exc.with_record(label) from None
    return updates


def _identity(sak: X, builder: RecordBuilder) -> tuple[str, str, dt.date | None]:
    people = [p for p in sak.children("Personalia") if not p.deleted]
    if people:
        for person in people:
            person.req("Id", max_length=50)
            person.req_date("StartDato")
        latest = max(people, key=lambda p: p.req_date("StartDato"))
        subject = builder.subject(
            latest.attr("Fodselsnummer", required=False), f"{latest.path}/@Fodselsnummer"
        )
        return subject, LAYOUT_V4, latest.date("Fodseldato", required=False)
    if sak.el.get("Fodselsnummer") is not None:
        subject = builder.subject(sak.el.get("Fodselsnummer"), f"{sak.path}/@Fodselsnummer")
        return subject, LAYOUT_LEGACY, sak.date("Fodseldato", required=False)
    raise InvalidIdentifier(
        builder.agency.value,
        "the child's Fodselsnummer in <Personalia> (v4) or as an attribute of <Sak> (older layout)",
        record=builder.record_label,
        pointer=f"{sak.path}/Personalia/@Fodselsnummer",
    )


def _sak(
    sak: X, context: Mapping[str, str], content: bytes, received_at: dt.datetime
) -> PlanUpdate:
    for child in sak.el:
        if child.tag not in _SAK_CHILDREN:
            raise sak.invalid(
                child.tag, "only the child elements SakType allows", f"got <{child.tag}>"
            )
    sak_id = sak.req("Id", max_length=50)
    builder = RecordBuilder(
        Agency.CHILD_WELFARE,
        system=context["system"],
        record_type="ssb-barnevern/Sak",
        record_id=sak_id,
        record_label=sak.record or f"Sak {sak_id}",
        content=content,
        received_at=received_at,
    )
    subject, layout, _birth = _identity(sak, builder)
    start = sak.req_date("StartDato")
    end = sak.date("SluttDato", required=False)
    sak.req("Journalnummer", max_length=36)
    closed = (sak.el.get("Avsluttet") or "").strip().lower() in ("true", "1") or end is not None
    unit = f"Barneverntjenesten, {context['kommunenavn']}"
    relations: dict[str, list[dict[str, str]]] = {}
    for rel in sak.children("Relasjon"):
        if rel.deleted:
            continue
        rel.req("Id", max_length=50)
        relations.setdefault(rel.req("FraId", max_length=50), []).append(
            {
                "type": rel.code(
                    "TilType", dict.fromkeys(_KINDS, "") | {"Personalia": "", "Relasjon": ""}
                )
                or "",
                "id": rel.req("TilId", max_length=50),
            }
        )
    _check_period(sak, start, end)
    builder.add(
        key=f"Sak/{sak_id}",
        pointer=sak.path,
        subject=subject,
        kind=ItemKind.EVENT,
        category=Category.CHILD_WELFARE_REPORT,
        title="Barnevernssak",
        status=ItemStatus.COMPLETED if closed else ItemStatus.IN_PROGRESS,
        period=(start, end),
        responsible=(unit, None),
        values={
            "ssb_layout": layout,
            "kommunenummer": context["kommunenummer"],
            "uttrekk": context["uttrekk"],
        },
        source_ref=sak_id,
    )

    def add(el: X, name: str, **fields: Any) -> None:
        el_id = el.req("Id", max_length=50)
        kind, category = _KINDS[name]
        values = dict(fields.pop("values", {}))
        if el_id in relations:
            values["relasjoner"] = relations[el_id]
        status = fields.pop("status")
        if el.deleted:
            values["slettet"] = True
            status = ItemStatus.CANCELLED
        builder.add(
            key=f"{name}/{el_id}",
            pointer=el.path,
            subject=subject,
            kind=kind,
            category=category,
            status=status,
            responsible=(unit, None),
            values=values,
            source_ref=el_id,
            **fields,
        )

    for el in sak.children("Melding"):
        m_start = el.req_date("StartDato")
        reporters = [r.code("Kode", c.MELDER) or "" for r in el.children("Melder")]
        contents = [s.code("Kode", c.SAKSINNHOLD) or "" for s in el.children("Saksinnhold")]
        concl, m_end = _conclusion(el)
        values: dict[str, Any] = {"melder": reporters, "saksinnhold": contents}
        description = None
        if concl is not None:
            kode = concl.code("Kode", c.MELDING_KONKLUSJON)
            assert kode is not None
            values["konklusjon"] = kode
            description = f"Konklusjon: {c.MELDING_KONKLUSJON[kode]}"
        _check_period(concl or el, m_start, m_end)
        add(
            el,
            "Melding",
            title="Bekymringsmelding" + (f" fra {c.MELDER[reporters[0]]}" if reporters else ""),
            description=description,
            status=ItemStatus.COMPLETED if concl is not None else ItemStatus.IN_PROGRESS,
            period=(m_start, m_end),
            code=(f"{CODE_SYSTEM}/melder", reporters[0], c.MELDER[reporters[0]])
            if reporters
            else None,
            values=values,
        )
    for el in sak.children("Undersokelse"):
        u_start = el.req_date("StartDato")
        grounds = [g.code("Kode", c.SAKSINNHOLD) or "" for g in el.children("Vedtaksgrunnlag")]
        concl, u_end = _conclusion(el)
        values = {"vedtaksgrunnlag": grounds}
        code = None
        if concl is not None:
            kode = concl.code("Kode", c.UNDERSOKELSE_KONKLUSJON)
            assert kode is not None
            values["konklusjon"] = kode
            code = (f"{CODE_SYSTEM}/undersokelse-konklusjon", kode, c.UNDERSOKELSE_KONKLUSJON[kode])
        extension = el.child("UtvidetFrist", required=False)
        if extension is not None:
            granted = extension.code("Innvilget", {"1": "Ja", "2": "Nei"}, required=False)
            values["utvidetFrist"] = {"1": True, "2": False}.get(granted or "")
        _check_period(concl or el, u_start, u_end)
        add(
            el,
            "Undersokelse",
            title="Undersøkelse",
            status=ItemStatus.COMPLETED if concl is not None else ItemStatus.IN_PROGRESS,
            period=(u_start, u_end),
            code=code,
            values=values,
        )
    for el in sak.children("Plan"):
        p_start = el.req_date("StartDato")
        ptype = el.code("Plantype", c.PLANTYPE)
        assert ptype is not None
        evaluations = [e.req_date("UtfortDato").isoformat() for e in el.children("Evaluering")]
        concl, p_end = _conclusion(el)
        _check_period(concl or el, p_start, p_end)
        add(
            el,
            "Plan",
            title=c.PLANTYPE[ptype],
            status=ItemStatus.COMPLETED if concl is not None else ItemStatus.IN_PROGRESS,
            period=(p_start, p_end),
            code=(f"{CODE_SYSTEM}/plantype", ptype, c.PLANTYPE[ptype]),
            values={"evalueringer": evaluations},
        )
    for el in sak.children("Tiltak"):
        t_start = el.req_date("StartDato")
        basis = _lovhjemmel(el)
        category_el = el.child("Kategori")
        assert category_el is not None
        kode = category_el.code("Kode", c.TILTAK_KATEGORI)
        assert kode is not None
        values = {
            "tiltaksgrunnlag": [
                g.code("Kode", c.SAKSINNHOLD) or "" for g in el.children("Tiltaksgrunnlag")
            ],
            "jmfrLovhjemmel": [_lovhjemmel_dict(j) for j in el.children("JmfrLovhjemmel")],
        }
        precision = category_el.attr("Presisering", required=False)
        if precision:
            values["presisering"] = precision
        lift = el.child("Opphevelse", required=False)
        if lift is not None:
            values["opphevelse"] = lift.code("Kode", c.OPPHEVELSE)
        concl, t_end = _conclusion(el)
        _check_period(concl or el, t_start, t_end)
        add(
            el,
            "Tiltak",
            title=c.TILTAK_KATEGORI[kode],
            status=ItemStatus.COMPLETED if concl is not None else ItemStatus.IN_PROGRESS,
            period=(t_start, t_end),
            code=(f"{CODE_SYSTEM}/tiltak-kategori", kode, c.TILTAK_KATEGORI[kode]),
            legal_basis=basis,
            values=values,
        )
    for el in sak.children("Vedtak"):
        v_start = el.req_date("StartDato")
        basis = _lovhjemmel(el)
        statuses = el.children("Status")
        if not statuses:
            raise el.invalid("Status", "at least one <Status>")
        history = []
        for st in statuses:
            st.req("Id", max_length=50)
            history.append((st.req_date("EndretDato"), st.code("Kode", c.VEDTAK_STATUS) or ""))
        latest = max(history)[1]
        values = {
            "status": latest,
            "statushistorikk": [{"dato": d.isoformat(), "kode": k} for d, k in sorted(history)],
        }
        claims = []
        for claim in el.children("Krav"):
            claim_concl = claim.child("Konklusjon", required=False)
            if claim_concl is not None:
                claims.append(claim_concl.code("Kode", c.KRAV_KONKLUSJON))
        if claims:
            values["krav"] = claims
        concl, v_end = _conclusion(el)
        _check_period(concl or el, v_start, v_end)
        add(
            el,
            "Vedtak",
            title=f"Vedtak: {c.VEDTAK_STATUS[latest]}",
            status=VEDTAK_STATUS[latest],
            period=(v_start, v_end),
            code=(f"{CODE_SYSTEM}/vedtak-status", latest, c.VEDTAK_STATUS[latest]),
            legal_basis=basis,
            values=values,
        )
    for el in sak.children("Ettervern"):
        offered = el.req_date("TilbudSendtDato")
        concl, e_end = _conclusion(el)
        status = ItemStatus.PROPOSED
        values = {}
        if concl is not None:
            kode = concl.code("Kode", c.ETTERVERN_KONKLUSJON)
            assert kode is not None
            status = ETTERVERN_STATUS[kode]
            values["konklusjon"] = kode
        _check_period(concl or el, offered, e_end)
        add(
            el,
            "Ettervern",
            title="Tilbud om ettervern",
            status=status,
            period=(offered, e_end),
            values=values,
        )
    for el in sak.children("OversendelseFylkesnemnd"):
        o_start = el.req_date("StartDato")
        add(
            el,
            "OversendelseFylkesnemnd",
            title="Begjæring oversendt barneverns- og helsenemnda",
            status=ItemStatus.RECORDED,
            period=(o_start, None),
            legal_basis=_lovhjemmel(el),
        )
    for el in sak.children("Flytting"):
        moved = el.req_date("SluttDato")
        reason = el.child("ArsakFra")
        to = el.child("FlyttingTil")
        assert reason is not None and to is not None
        reason_code = reason.code("Kode", c.FLYTTING_ARSAK)
        to_code = to.code("Kode", c.FLYTTING_TIL)
        assert to_code is not None
        add(
            el,
            "Flytting",
            title=f"Flytting til: {c.FLYTTING_TIL[to_code]}",
            status=ItemStatus.COMPLETED,
            period=(moved, None),
            code=(f"{CODE_SYSTEM}/flytting-til", to_code, c.FLYTTING_TIL[to_code]),
            values={"arsakFra": reason_code},
        )
    for el in sak.children("Slettet"):
        deleted_id = el.req("Id", max_length=50)
        dtype = el.code("Type", dict.fromkeys(_KINDS, "") | {"Personalia": "", "Relasjon": ""})
        assert dtype is not None
        el.req_date("SluttDato")
        if dtype not in _KINDS:
            continue  # a deleted Personalia or Relasjon is not a plan item
        kind, category = _KINDS[dtype]
        builder.add(
            key=f"{dtype}/{deleted_id}",
            pointer=el.path,
            subject=subject,
            kind=kind,
            category=category,
            title=f"{dtype} slettet",
            status=ItemStatus.CANCELLED,
            values={"slettet": True},
            source_ref=deleted_id,
        )
    return builder.build()


def _conclusion(el: X) -> tuple[X | None, dt.date | None]:
    """The element's optional <Konklusjon> and its SluttDato (the element's end)."""
    concl = el.child("Konklusjon", required=False)
    return concl, concl.req_date("SluttDato") if concl is not None else None


def _check_period(el: X, start: dt.date, end: dt.date | None) -> None:
    """Refuse an @SluttDato of `el` before `start`."""
    if end is not None and end < start:
        raise el.invalid(
            "@SluttDato",
            f"an end date on or after the start {start.isoformat()}",
            f"got {end.isoformat()}",
        )


def _lovhjemmel_dict(el: X) -> dict[str, str | None]:
    law = el.text("Lov")
    if law not in c.LOV:
        raise el.invalid("Lov", "one of " + ", ".join(c.LOV), f"got {law!r}")
    ledd = [(x.el.text or "").strip() for x in el.children("Ledd")]
    letters = [(x.el.text or "").strip() for x in el.children("Bokstav")]
    return {
        "law": law,
        "chapter": el.text("Kapittel"),
        "section": el.text("Paragraf"),
        "paragraph": ",".join(ledd)[:20] or None,
        "letter": ",".join(letters)[:20] or None,
    }


def _lovhjemmel(el: X) -> dict[str, str | None]:
    basis = el.child("Lovhjemmel")
    assert basis is not None
    return _lovhjemmel_dict(basis)
