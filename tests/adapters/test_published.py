"""The publishers' own files in ../shared/formats: NAV's, SSB's and KS's examples.

Each test says what the file does: translates, or is refused for a stated reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import adapters
from adapters import InvalidIdentifier, InvalidRecord
from adapters.child_welfare import codes
from tests.helpers.adapters import RECEIVED
from tests.helpers.environment import shared_formats_dir

VALID_ID = "15448510082"  # synthetic (month + 40), valid check digits


def _nav(name: str) -> bytes:
    return (shared_formats_dir() / "nav-aktivitetskort" / "examples" / name).read_bytes()


NAV_VALID = [
    "validArenaAktivitetskort.json",
    "validaktivitetskort.json",
    "validaktivitetskortUnzonedDatetime.json",
    "validaktivitetskortWithUnknownSource.json",
    "validaktivitetskortZonedDatetime+Time.json",
    "validaktivitetskortZonedDatetime.json",
    "validkassering.json",
]


@pytest.mark.parametrize("name", NAV_VALID)
def test_nav_valid_examples_fail_only_on_their_identifier(name: str) -> None:
    """NAV's identifiers (48507582368, 12121212121) fail mod 11: InvalidIdentifier, named at
    the field; with a valid identifier put in, the same message translates."""
    body = _nav(name)
    with pytest.raises(InvalidIdentifier) as info:
        adapters.translate("nav", body, "application/json", received_at=RECEIVED)
    pointer = "/personIdent" if "kassering" in name else "/aktivitetskort/personIdent"
    assert info.value.pointer == pointer
    assert "mod 11" in str(info.value)
    fixed = json.loads(body)
    if "kassering" in name:
        fixed["personIdent"] = VALID_ID
    else:
        fixed["aktivitetskort"]["personIdent"] = VALID_ID
    updates = adapters.translate(
        "nav", json.dumps(fixed).encode(), "application/json", received_at=RECEIVED
    )
    assert len(updates) == 1
    item = updates[0].items[0]
    assert item.subject == VALID_ID
    assert updates[0].source.system == fixed["source"]
    if "kassering" in name:
        assert item.status.value == "cancelled"
    else:
        assert item.status.value == "planned"  # PLANLAGT
        assert item.title == fixed["aktivitetskort"]["tittel"]


def test_nav_unzoned_timestamp_is_read_as_oslo_time() -> None:
    fixed = json.loads(_nav("validaktivitetskortUnzonedDatetime.json"))
    fixed["aktivitetskort"]["personIdent"] = VALID_ID
    (update,) = adapters.translate(
        "nav", json.dumps(fixed).encode(), "application/json", received_at=RECEIVED
    )
    assert update.items[0].values["endretTidspunkt"] == "2022-10-19T12:00:00+02:00"


@pytest.mark.parametrize(
    ("name", "pointer"),
    [
        ("invalidaktivitetskortInvalidActionType.json", "/actionType"),
        ("invalidaktivitetskortMessageIdEqualFunksjonellId.json", "/messageId"),
    ],
)
def test_nav_invalid_examples_are_refused(name: str, pointer: str) -> None:
    body = _nav(name)
    with pytest.raises(adapters.AdapterError):
        adapters.translate("nav", body, "application/json", received_at=RECEIVED)
    # Refused for the reason NAV means, not only for the identifier:
    fixed = json.loads(body)
    fixed["aktivitetskort"]["personIdent"] = VALID_ID
    with pytest.raises(InvalidRecord) as info:
        adapters.translate(
            "nav", json.dumps(fixed).encode(), "application/json", received_at=RECEIVED
        )
    assert not isinstance(info.value, InvalidIdentifier)
    assert info.value.pointer == pointer


def _ssb(name: str) -> bytes:
    return (shared_formats_dir() / "ssb-barnevern" / "examples" / name).read_bytes()


@pytest.mark.parametrize(
    "name", ["test01_file01_total.xml", "test01_file05_total.xml", "test01_file09_total.xml"]
)
def test_ssb_test_files_translate_in_the_older_layout(name: str) -> None:
    (update,) = adapters.translate(
        "child_welfare", _ssb(name), "application/xml", received_at=RECEIVED
    )
    assert update.items[0].values["ssb_layout"].startswith("legacy")
    assert {i.subject for i in update.items} == {"02011088123"}
    assert update.source.record_id == "7317a453-2d65-465a-9589-519311d66579"
    report = next(i for i in update.items if i.title.startswith("Bekymringsmelding"))
    assert report.code is not None and report.code.code in codes.MELDER


def test_ssb_file09_maps_every_element() -> None:
    (update,) = adapters.translate(
        "child_welfare", _ssb("test01_file09_total.xml"), "application/xml", received_at=RECEIVED
    )
    kinds = [(i.kind.value, i.category.value) for i in update.items]
    assert kinds.count(("decision", "child_welfare.measure")) == 2
    measure = next(i for i in update.items if i.code and i.code.code == "3.10")
    assert measure.legal_basis is not None
    assert (measure.legal_basis.law, measure.legal_basis.chapter, measure.legal_basis.section) == (
        "BVL",
        "1",
        "1",
    )
    assert measure.status.value == "completed"
    assert measure.values["opphevelse"] == "1"


def test_ssb_invalid_file_is_refused_for_its_missing_avgiver() -> None:
    with pytest.raises(InvalidRecord) as info:
        adapters.translate(
            "child_welfare", _ssb("invalid.xml"), "application/xml", received_at=RECEIVED
        )
    assert info.value.pointer == "/Barnevern/Avgiver"


def test_ssb_end_before_start_is_refused_at_the_date() -> None:
    with pytest.raises(InvalidRecord) as info:
        adapters.translate(
            "child_welfare",
            _ssb("sluttdato_etter_startdato.xml"),
            "application/xml",
            received_at=RECEIVED,
        )
    assert info.value.pointer == "/Barnevern/Sak/Melding/Konklusjon/@SluttDato"


def test_ssb_code_tables_match_the_published_code_list() -> None:
    text = (shared_formats_dir() / "ssb-barnevern" / "Kodelister.md").read_text(encoding="utf-8")
    for table in (
        codes.MELDER,
        codes.MELDING_KONKLUSJON,
        codes.TILTAK_KATEGORI,
        codes.PLANTYPE,
        codes.SAKSINNHOLD,
    ):
        for code in table:
            assert f"| {code} " in text or f"|{code} " in text or f"| {code}|" in text, code
    assert (
        "3.10" in codes.TILTAK_KATEGORI and "24" in codes.MELDER and "1.1.02" in codes.SAKSINNHOLD
    )


def _fiks(name: str) -> bytes:
    return (shared_formats_dir() / "fiks-bekymringsmelding" / "examples" / name).read_bytes()


def test_fiks_public_report_gives_one_item_per_child() -> None:
    (update,) = adapters.translate(
        "child_welfare",
        _fiks("offentligBekymringsmeldingV2.json"),
        "application/json",
        received_at=RECEIVED,
    )
    assert [i.subject for i in update.items] == ["28071364498", "16081688781"]
    assert all(i.category.value == "child_welfare.report" for i in update.items)
    item = update.items[0]
    assert item.values["melderRolle"] == "Lærer"
    assert item.values["sendingstidspunkt"] == "2020-03-16T13:29:33+01:00"  # Europe/Oslo, winter
    dumped = json.dumps(update.to_json_dict(), ensure_ascii=False)
    assert "99999999" not in dumped and "Navnesen" not in dumped  # reporter's contact data left out


def test_fiks_private_report_is_refused_it_names_no_identity_number() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        adapters.translate(
            "child_welfare",
            _fiks("privatBekymringsmeldingV2.json"),
            "application/json",
            received_at=RECEIVED,
        )
    assert info.value.pointer == "/privatBarn"


def test_fiks_error_message_is_not_a_report() -> None:
    with pytest.raises(InvalidRecord):
        adapters.translate(
            "child_welfare", _fiks("feilmelding.json"), "application/json", received_at=RECEIVED
        )


def test_shared_formats_are_not_copied_into_the_project() -> None:
    project = Path(__file__).resolve().parents[2]
    names = {
        p.name
        for p in (shared_formats_dir()).rglob("*")
        if p.is_file() and p.suffix in (".json", ".xml")
    }
    copied = [p for p in project.joinpath("adapters").rglob("*") if p.name in names]
    assert copied == []
