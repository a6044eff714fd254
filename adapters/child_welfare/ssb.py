"""Translate the SSB "Barnevern" XML (v4, and the older layout with identity on <Sak>).

One PlanUpdate per <Sak>; each Melding, Undersokelse, Plan, Tiltak, Vedtak, Ettervern,
OversendelseFylkesnemnd and Flytting becomes one item. Pointers are XPaths.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
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
# what <Relasjon TilType> and <Slettet Type> may name
_ELEMENT_TYPES: dict[str, str] = dict.fromkeys(_KINDS, "") | {"Personalia": "", "Relasjon": ""}
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

    def req_code(self, name: str, table: Mapping[str, str]) -> str:
        value = self.code(name, table)
        assert value is not None
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


def _sak(
    sak: X, context: Mapping[str, str], content: bytes, received_at: dt.datetime
) -> PlanUpdate:
    """One <Sak>: an item for the case itself, then one for each element the handlers know."""
    _check_children(sak)
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
    unit = f"Barneverntjenesten, {context['kommunenavn']}"
    case = _Case(builder, subject, unit, _relations(sak))
    _check_period(sak, start, end)
    _case_item(case, sak, (start, end), layout, context)
    for name, handle in _HANDLERS.items():
        for el in sak.children(name):
            handle(case, el)
    return builder.build()


class _Case:
    """One <Sak> being translated: what the items of its elements share."""

    __slots__ = ("builder", "relations", "subject", "unit")

    def __init__(
        self,
        builder: RecordBuilder,
        subject: str,
        unit: str,
        relations: Mapping[str, list[dict[str, str]]],
    ) -> None:
        self.builder, self.subject, self.unit, self.relations = builder, subject, unit, relations

    def add(self, el: X, name: str, **fields: Any) -> None:
        """The item of `el` (element type `name`) with its relations; a deleted one is cancelled."""
        el_id = el.req("Id", max_length=50)
        kind, category = _KINDS[name]
        values = dict(fields.pop("values", {}))
        if el_id in self.relations:
            values["relasjoner"] = self.relations[el_id]
        status = fields.pop("status")
        if el.deleted:
            values["slettet"] = True
            status = ItemStatus.CANCELLED
        self.builder.add(
            key=f"{name}/{el_id}",
            pointer=el.path,
            subject=self.subject,
            kind=kind,
            category=category,
            status=status,
            responsible=(self.unit, None),
            values=values,
            source_ref=el_id,
            **fields,
        )


def _check_children(sak: X) -> None:
    """Refuse a child element of <Sak> that SakType does not allow."""
    for child in sak.el:
        if child.tag not in _SAK_CHILDREN:
            raise sak.invalid(
                child.tag, "only the child elements SakType allows", f"got <{child.tag}>"
            )


def _identity(sak: X, builder: RecordBuilder) -> tuple[str, str, dt.date | None]:
    """The child, the layout that named it and its birth date, from either layout."""
    people = [p for p in sak.children("Personalia") if not p.deleted]
    if people:
        return _personalia(people, builder)
    if sak.el.get("Fodselsnummer") is not None:
        return _legacy_identity(sak, builder)
    raise InvalidIdentifier(
        builder.agency.value,
        "the child's Fodselsnummer in <Personalia> (v4) or as an attribute of <Sak> (older layout)",
        record=builder.record_label,
        pointer=f"{sak.path}/Personalia/@Fodselsnummer",
    )


def _personalia(people: list[X], builder: RecordBuilder) -> tuple[str, str, dt.date | None]:
    """v4: the child as the <Personalia> (not deleted) with the latest StartDato names it."""
    for person in people:
        person.req("Id", max_length=50)
        person.req_date("StartDato")
    latest = max(people, key=lambda p: p.req_date("StartDato"))
    subject = builder.subject(
        latest.attr("Fodselsnummer", required=False), f"{latest.path}/@Fodselsnummer"
    )
    return subject, LAYOUT_V4, latest.date("Fodseldato", required=False)


def _legacy_identity(sak: X, builder: RecordBuilder) -> tuple[str, str, dt.date | None]:
    """Older layout: the child as the Fodselsnummer and Fodseldato attributes of <Sak> name it."""
    subject = builder.subject(sak.el.get("Fodselsnummer"), f"{sak.path}/@Fodselsnummer")
    return subject, LAYOUT_LEGACY, sak.date("Fodseldato", required=False)


def _relations(sak: X) -> dict[str, list[dict[str, str]]]:
    """The <Relasjon> not deleted, by FraId: the type and id of each element it points to."""
    relations: dict[str, list[dict[str, str]]] = {}
    for rel in sak.children("Relasjon"):
        if rel.deleted:
            continue
        rel.req("Id", max_length=50)
        relations.setdefault(rel.req("FraId", max_length=50), []).append(
            {
                "type": rel.code("TilType", _ELEMENT_TYPES) or "",
                "id": rel.req("TilId", max_length=50),
            }
        )
    return relations


def _case_item(
    case: _Case,
    sak: X,
    period: tuple[dt.date, dt.date | None],
    layout: str,
    context: Mapping[str, str],
) -> None:
    """<Sak> itself: the case, in progress until it has a SluttDato or is Avsluttet."""
    avsluttet = (sak.el.get("Avsluttet") or "").strip().lower() in ("true", "1")
    closed = avsluttet or period[1] is not None
    case.builder.add(
        key=f"Sak/{case.builder.record_id}",
        pointer=sak.path,
        subject=case.subject,
        kind=ItemKind.EVENT,
        category=Category.CHILD_WELFARE_REPORT,
        title="Barnevernssak",
        status=ItemStatus.COMPLETED if closed else ItemStatus.IN_PROGRESS,
        period=period,
        responsible=(case.unit, None),
        values={
            "ssb_layout": layout,
            "kommunenummer": context["kommunenummer"],
            "uttrekk": context["uttrekk"],
        },
        source_ref=case.builder.record_id,
    )


def _melding(case: _Case, el: X) -> None:
    """<Melding>: a report of concern, from its Melder, open until its Konklusjon."""
    start = el.req_date("StartDato")
    reporters = [r.code("Kode", c.MELDER) or "" for r in el.children("Melder")]
    contents = [s.code("Kode", c.SAKSINNHOLD) or "" for s in el.children("Saksinnhold")]
    concl, end = _conclusion(el)
    values: dict[str, Any] = {"melder": reporters, "saksinnhold": contents}
    description = None
    if concl is not None:
        kode = concl.req_code("Kode", c.MELDING_KONKLUSJON)
        values["konklusjon"] = kode
        description = f"Konklusjon: {c.MELDING_KONKLUSJON[kode]}"
    _check_period(concl or el, start, end)
    case.add(
        el,
        "Melding",
        title="Bekymringsmelding" + (f" fra {c.MELDER[reporters[0]]}" if reporters else ""),
        description=description,
        status=_concluded(concl),
        period=(start, end),
        code=(f"{CODE_SYSTEM}/melder", reporters[0], c.MELDER[reporters[0]]) if reporters else None,
        values=values,
    )


def _undersokelse(case: _Case, el: X) -> None:
    """<Undersokelse>: an investigation, its grounds, conclusion and any extended deadline."""
    start = el.req_date("StartDato")
    grounds = [g.code("Kode", c.SAKSINNHOLD) or "" for g in el.children("Vedtaksgrunnlag")]
    concl, end = _conclusion(el)
    values: dict[str, Any] = {"vedtaksgrunnlag": grounds}
    code = None
    if concl is not None:
        kode = concl.req_code("Kode", c.UNDERSOKELSE_KONKLUSJON)
        values["konklusjon"] = kode
        code = (f"{CODE_SYSTEM}/undersokelse-konklusjon", kode, c.UNDERSOKELSE_KONKLUSJON[kode])
    extension = el.child("UtvidetFrist", required=False)
    if extension is not None:
        granted = extension.code("Innvilget", {"1": "Ja", "2": "Nei"}, required=False)
        values["utvidetFrist"] = {"1": True, "2": False}.get(granted or "")
    _check_period(concl or el, start, end)
    case.add(
        el,
        "Undersokelse",
        title="Undersøkelse",
        status=_concluded(concl),
        period=(start, end),
        code=code,
        values=values,
    )


def _plan(case: _Case, el: X) -> None:
    """<Plan>: a plan of the type Plantype names, with the dates of its evaluations."""
    start = el.req_date("StartDato")
    ptype = el.req_code("Plantype", c.PLANTYPE)
    evaluations = [e.req_date("UtfortDato").isoformat() for e in el.children("Evaluering")]
    concl, end = _conclusion(el)
    _check_period(concl or el, start, end)
    case.add(
        el,
        "Plan",
        title=c.PLANTYPE[ptype],
        status=_concluded(concl),
        period=(start, end),
        code=(f"{CODE_SYSTEM}/plantype", ptype, c.PLANTYPE[ptype]),
        values={"evalueringer": evaluations},
    )


def _tiltak(case: _Case, el: X) -> None:
    """<Tiltak>: a measure of a Kategori, on a Lovhjemmel, with its grounds and any lifting."""
    start = el.req_date("StartDato")
    basis = _lovhjemmel(el)
    category_el = el.child("Kategori")
    assert category_el is not None
    kode = category_el.req_code("Kode", c.TILTAK_KATEGORI)
    values: dict[str, Any] = {
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
    concl, end = _conclusion(el)
    _check_period(concl or el, start, end)
    case.add(
        el,
        "Tiltak",
        title=c.TILTAK_KATEGORI[kode],
        status=_concluded(concl),
        period=(start, end),
        code=(f"{CODE_SYSTEM}/tiltak-kategori", kode, c.TILTAK_KATEGORI[kode]),
        legal_basis=basis,
        values=values,
    )


def _vedtak(case: _Case, el: X) -> None:
    """<Vedtak>: a decision on a Lovhjemmel; its status is the latest <Status>."""
    start = el.req_date("StartDato")
    basis = _lovhjemmel(el)
    history = _status_history(el)
    latest = max(history)[1]
    values: dict[str, Any] = {
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
    concl, end = _conclusion(el)
    _check_period(concl or el, start, end)
    case.add(
        el,
        "Vedtak",
        title=f"Vedtak: {c.VEDTAK_STATUS[latest]}",
        status=VEDTAK_STATUS[latest],
        period=(start, end),
        code=(f"{CODE_SYSTEM}/vedtak-status", latest, c.VEDTAK_STATUS[latest]),
        legal_basis=basis,
        values=values,
    )


def _status_history(el: X) -> list[tuple[dt.date, str]]:
    """The (EndretDato, Kode) of each <Status> of a <Vedtak>; at least one is required."""
    statuses = el.children("Status")
    if not statuses:
        raise el.invalid("Status", "at least one <Status>")
    history = []
    for st in statuses:
        st.req("Id", max_length=50)
        history.append((st.req_date("EndretDato"), st.code("Kode", c.VEDTAK_STATUS) or ""))
    return history


def _ettervern(case: _Case, el: X) -> None:
    """<Ettervern>: aftercare offered, proposed until its Konklusjon says what came of it."""
    offered = el.req_date("TilbudSendtDato")
    concl, end = _conclusion(el)
    status = ItemStatus.PROPOSED
    values = {}
    if concl is not None:
        kode = concl.req_code("Kode", c.ETTERVERN_KONKLUSJON)
        status = ETTERVERN_STATUS[kode]
        values["konklusjon"] = kode
    _check_period(concl or el, offered, end)
    case.add(
        el,
        "Ettervern",
        title="Tilbud om ettervern",
        status=status,
        period=(offered, end),
        values=values,
    )


def _oversendelse(case: _Case, el: X) -> None:
    """<OversendelseFylkesnemnd>: a petition sent to the child welfare tribunal."""
    start = el.req_date("StartDato")
    case.add(
        el,
        "OversendelseFylkesnemnd",
        title="Begjæring oversendt barneverns- og helsenemnda",
        status=ItemStatus.RECORDED,
        period=(start, None),
        legal_basis=_lovhjemmel(el),
    )


def _flytting(case: _Case, el: X) -> None:
    """<Flytting>: the child moved, from the reason ArsakFra to where FlyttingTil names."""
    moved = el.req_date("SluttDato")
    reason = el.child("ArsakFra")
    to = el.child("FlyttingTil")
    assert reason is not None and to is not None
    reason_code = reason.code("Kode", c.FLYTTING_ARSAK)
    to_code = to.req_code("Kode", c.FLYTTING_TIL)
    case.add(
        el,
        "Flytting",
        title=f"Flytting til: {c.FLYTTING_TIL[to_code]}",
        status=ItemStatus.COMPLETED,
        period=(moved, None),
        code=(f"{CODE_SYSTEM}/flytting-til", to_code, c.FLYTTING_TIL[to_code]),
        values={"arsakFra": reason_code},
    )


def _slettet(case: _Case, el: X) -> None:
    """<Slettet>: an element deleted since the last report, as a cancelled item of its type."""
    deleted_id = el.req("Id", max_length=50)
    dtype = el.req_code("Type", _ELEMENT_TYPES)
    el.req_date("SluttDato")
    if dtype not in _KINDS:
        return  # a deleted Personalia or Relasjon is not a plan item
    kind, category = _KINDS[dtype]
    case.builder.add(
        key=f"{dtype}/{deleted_id}",
        pointer=el.path,
        subject=case.subject,
        kind=kind,
        category=category,
        title=f"{dtype} slettet",
        status=ItemStatus.CANCELLED,
        values={"slettet": True},
        source_ref=deleted_id,
    )


# the elements of <Sak> that become items, in the order their items are added
_HANDLERS: dict[str, Callable[[_Case, X], None]] = {
    "Melding": _melding,
    "Undersokelse": _undersokelse,
    "Plan": _plan,
    "Tiltak": _tiltak,
    "Vedtak": _vedtak,
    "Ettervern": _ettervern,
    "OversendelseFylkesnemnd": _oversendelse,
    "Flytting": _flytting,
    "Slettet": _slettet,
}


def _concluded(concl: X | None) -> ItemStatus:
    """COMPLETED once the element has its <Konklusjon>, IN_PROGRESS until then."""
    return ItemStatus.COMPLETED if concl is not None else ItemStatus.IN_PROGRESS


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
