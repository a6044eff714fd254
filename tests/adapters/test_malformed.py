"""Malformed variants of every agency's examples are refused whole, with the exact location."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import adapters
from adapters import (
    AdapterError,
    InvalidIdentifier,
    InvalidRecord,
    MalformedBody,
    UnsupportedContentType,
)
from tests.helpers.adapters import PROJECT, RECEIVED, content_type, examples

BAD_ID = "15448510083"  # last check digit wrong


def _example(agency: str, name: str) -> Any:
    return json.loads(
        (PROJECT / "adapters" / agency / "examples" / name).read_text(encoding="utf-8")
    )


def _set(path: list[Any], value: Any) -> Callable[[Any], Any]:
    def mutate(doc: Any) -> Any:
        doc = copy.deepcopy(doc)
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return doc

    return mutate


_DELETE = object()

CASES = [
    # agency, example, mutation, error, pointer
    (
        "nav",
        "aktivitetskort-arbeidstrening.json",
        _set(["aktivitetskort", "tittel"], _DELETE),
        InvalidRecord,
        "/aktivitetskort/tittel",
    ),
    (
        "nav",
        "aktivitetskort-arbeidstrening.json",
        _set(["aktivitetskort", "avtaltMedNav"], "ja"),
        InvalidRecord,
        "/aktivitetskort/avtaltMedNav",
    ),
    (
        "nav",
        "aktivitetskort-arbeidstrening.json",
        _set(["aktivitetskort", "aktivitetStatus"], "PAUSET"),
        InvalidRecord,
        "/aktivitetskort/aktivitetStatus",
    ),
    (
        "nav",
        "aktivitetskort-arbeidstrening.json",
        _set(["aktivitetskortType"], "KURS"),
        InvalidRecord,
        "/aktivitetskortType",
    ),
    (
        "nav",
        "aktivitetskort-arbeidstrening.json",
        _set(["aktivitetskort", "personIdent"], BAD_ID),
        InvalidIdentifier,
        "/aktivitetskort/personIdent",
    ),
    (
        "nav",
        "aktivitetskort-arbeidstrening.json",
        _set(["aktivitetskort", "personIdent"], "2754385123456"),
        InvalidIdentifier,
        "/aktivitetskort/personIdent",
    ),
    (
        "nav",
        "aktivitetskort-arbeidstrening.json",
        _set(["aktivitetskort", "startDato"], "03.02.2025"),
        InvalidRecord,
        "/aktivitetskort/startDato",
    ),
    (
        "nav",
        "vedtak-14a.json",
        _set(["innsatsgruppe"], "MIDDELS_INNSATS"),
        InvalidRecord,
        "/innsatsgruppe",
    ),
    ("nav", "vedtak-14a.json", _set(["fattetDato"], _DELETE), InvalidRecord, "/fattetDato"),
    (
        "school",
        "fravarsregistrering.json",
        _set(["foresPaVitnemal"], _DELETE),
        InvalidRecord,
        "/foresPaVitnemal",
    ),
    (
        "school",
        "fravarsregistrering.json",
        _set(["periode", "start"], 20250211),
        InvalidRecord,
        "/periode/start",
    ),
    (
        "school",
        "fravarsregistrering.json",
        _set(["_links", "fravarstype", 0, "href"], "https://x/fravarstype/systemid/Q"),
        InvalidRecord,
        "/_links/fravarstype/0/href",
    ),
    (
        "school",
        "fravarsregistrering.json",
        _set(["_links", "elev", 0, "href"], "https://x/elev/person/fodselsnummer/" + BAD_ID),
        InvalidIdentifier,
        "/_links/elev/0/href",
    ),
    (
        "school",
        "fravarsregistrering.json",
        _set(["_links", "elev", 0, "href"], "https://x/elev/systemid/77"),
        InvalidIdentifier,
        "/_links/elev/0/href",
    ),
    (
        "school",
        "fint-collection.json",
        _set(["_embedded", "_entries", 1, "fravarsprosent", "prosent"], "mye"),
        InvalidRecord,
        "/_embedded/_entries/1/fravarsprosent/prosent",
    ),
    (
        "housing",
        "bostotte.json",
        _set(["saker", 0, "vedtak", "type"], "DELVIS"),
        InvalidRecord,
        "/saker/0/vedtak/type",
    ),
    ("housing", "bostotte.json", _set(["saker", 1, "mnd"], 13), InvalidRecord, "/saker/1/mnd"),
    (
        "housing",
        "bostotte.json",
        _set(["saker", 0, "vedtak"], _DELETE),
        InvalidRecord,
        "/saker/0/vedtak",
    ),
    (
        "housing",
        "bostotte.json",
        _set(["utbetalinger", 0, "belop"], "mange"),
        InvalidRecord,
        "/utbetalinger/0/belop",
    ),
    ("housing", "bostotte.json", _set(["personIdent"], BAD_ID), InvalidIdentifier, "/personIdent"),
    ("housing", "kommunal-bolig.json", _set([1, "botype"], "telt"), InvalidRecord, "/1/botype"),
    (
        "housing",
        "kommunal-bolig.json",
        _set([0, "personIdent"], _DELETE),
        InvalidIdentifier,
        "/0/personIdent",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["entry", 4, "resource", "status"], "done"),
        InvalidRecord,
        "/entry/4/resource/status",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["entry", 4, "resource", "status"], 5),
        InvalidRecord,
        "/entry/4/resource/status",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["entry", 1, "resource", "identifier", 0, "value"], BAD_ID),
        InvalidIdentifier,
        "/entry/1/resource/identifier/0/value",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["entry", 1, "resource", "identifier", 0, "system"], "urn:local:mrn"),
        InvalidIdentifier,
        "/entry/1/resource/identifier",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["entry", 5, "resource", "valueQuantity"], None),
        InvalidRecord,
        "/entry/5/resource/valueQuantity",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["entry", 5, "resource", "subject", "reference"], "Patient/ukjent"),
        InvalidRecord,
        "/entry/5/resource/subject/reference",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["entry", 4, "resource", "resourceType"], "MedicationRequest"),
        InvalidRecord,
        "/entry/4/resource/resourceType",
    ),
    (
        "health",
        "bundle-helsestasjon-mor-og-barn.json",
        _set(["resourceType"], "Patient"),
        InvalidRecord,
        "/resourceType",
    ),
    (
        "child_welfare",
        "bekymringsmelding-offentlig.json",
        _set(["offentligBarn", 1, "fnr"], BAD_ID),
        InvalidIdentifier,
        "/offentligBarn/1/fnr",
    ),
    (
        "child_welfare",
        "bekymringsmelding-offentlig.json",
        _set(["sendingstidspunkt"], _DELETE),
        InvalidRecord,
        "/sendingstidspunkt",
    ),
    (
        "child_welfare",
        "bekymringsmelding-offentlig.json",
        _set(["offentligBarn", 0, "orientert"], "ja"),
        InvalidRecord,
        "/offentligBarn/0/orientert",
    ),
]


@pytest.mark.parametrize(
    ("agency", "example", "mutate", "error", "pointer"),
    CASES,
    ids=[c[4] + "-" + c[0] for c in CASES],
)
def test_malformed_json_is_refused_at_the_field(
    agency: str, example: str, mutate: Callable[[Any], Any], error: type[AdapterError], pointer: str
) -> None:
    body = json.dumps(mutate(_example(agency, example))).encode()
    ctype = "application/fhir+json" if agency == "health" else "application/json"
    with pytest.raises(error) as info:
        adapters.translate(agency, body, ctype, received_at=RECEIVED)
    assert info.value.pointer == pointer
    assert info.value.agency == agency
    assert info.value.status == 422
    assert pointer in str(info.value) and "expected" in str(info.value)


XML_V4 = (PROJECT / "adapters" / "child_welfare" / "examples" / "barnevern-v4.xml").read_text(
    encoding="utf-8"
)

_TILTAK_LOV = (
    "<Lov>{law}</Lov>\n                <Kapittel>3</Kapittel>\n                "
    "<Paragraf>1</Paragraf>\n            </Lovhjemmel>\n            <Kategori"
)

XML_CASES = [
    (
        '<Melder Kode="11"/>',
        '<Melder Kode="99"/>',
        "/Barnevern/Sak/Melding/Melder/@Kode",
        InvalidRecord,
    ),
    (
        '<Kategori Kode="4.6"/>',
        '<Kategori Kode="4.77"/>',
        "/Barnevern/Sak/Tiltak/Kategori/@Kode",
        InvalidRecord,
    ),
    (
        _TILTAK_LOV.format(law="BVL2021"),
        _TILTAK_LOV.format(law="SOSTJL"),
        "/Barnevern/Sak/Tiltak/Lovhjemmel/Lov",
        InvalidRecord,
    ),
    (
        'Fodselsnummer="22451250713"',
        'Fodselsnummer="22451250714"',
        "/Barnevern/Sak/Personalia/@Fodselsnummer",
        InvalidIdentifier,
    ),
    ('Plantype="1"', 'Plantype="x"', "/Barnevern/Sak/Plan/@Plantype", InvalidRecord),
    (
        '<Plan Id="e5f6a7b8-c9d0-4e1f-8a3b-4c5d6e7f8091" StartDato="2025-01-06"',
        '<Plan Id="e5f6a7b8-c9d0-4e1f-8a3b-4c5d6e7f8091" StartDato="6. januar"',
        "/Barnevern/Sak/Plan/@StartDato",
        InvalidRecord,
    ),
    (
        '<Status Id="b8c9d0e1-f2a3-4b4c-9d6e-7f8091a2b3c4" EndretDato="2024-12-20" Kode="1"/>',
        "",
        "/Barnevern/Sak/Vedtak/Status",
        InvalidRecord,
    ),
    ("<Undersokelse ", "<Ukjent/><Undersokelse ", "/Barnevern/Sak/Ukjent", InvalidRecord),
]


@pytest.mark.parametrize(
    ("old", "new", "pointer", "error"), XML_CASES, ids=[c[2] for c in XML_CASES]
)
def test_malformed_xml_is_refused_at_the_xpath(
    old: str, new: str, pointer: str, error: type[AdapterError]
) -> None:
    assert old in XML_V4
    body = XML_V4.replace(old, new, 1).encode()
    with pytest.raises(error) as info:
        adapters.translate("child_welfare", body, "application/xml", received_at=RECEIVED)
    assert info.value.pointer == pointer
    assert info.value.record == "Sak a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


@pytest.mark.parametrize(("agency", "path"), examples(), ids=lambda v: getattr(v, "name", v))
def test_truncated_bodies_are_malformed(agency: str, path: Path) -> None:
    body = path.read_bytes().rstrip()
    cut = body[: len(body) * 2 // 3]
    with pytest.raises(MalformedBody) as info:
        adapters.translate(agency, cut, content_type(agency, path), received_at=RECEIVED)
    assert info.value.status == 422


@pytest.mark.parametrize(("agency", "path"), examples(), ids=lambda v: getattr(v, "name", v))
def test_wrong_content_type_is_415(agency: str, path: Path) -> None:
    with pytest.raises(UnsupportedContentType) as info:
        adapters.translate(agency, path.read_bytes(), "text/csv", received_at=RECEIVED)
    assert info.value.status == 415
    assert "application/vnd.helhet.plan-update+json" in info.value.expected


def test_one_bad_record_refuses_the_whole_body() -> None:
    lines = (
        (PROJECT / "adapters/nav/examples/aktivitetskort-batch.ndjson")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    doc = json.loads(lines[2])
    doc["aktivitetskort"]["aktivitetStatus"] = "UKJENT"
    lines[2] = json.dumps(doc)
    with pytest.raises(InvalidRecord) as info:
        adapters.translate(
            "nav", "\n".join(lines).encode(), "application/x-ndjson", received_at=RECEIVED
        )
    assert info.value.record == "line 3"
    assert info.value.pointer == "/aktivitetskort/aktivitetStatus"


def test_aktor_id_only_is_refused_with_a_clear_message() -> None:
    doc = {
        "vedtakId": "1",
        "aktorId": "2754385123456",
        "innsatsgruppe": "STANDARD_INNSATS",
        "fattetDato": "2025-01-01T10:00:00+01:00",
    }
    with pytest.raises(InvalidIdentifier) as info:
        adapters.translate(
            "nav", json.dumps(doc).encode(), "application/json", received_at=RECEIVED
        )
    assert info.value.pointer == "/aktorId"
    assert "aktorId" in str(info.value)
