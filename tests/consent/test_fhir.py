"""FHIR Consent R4 and R5: round trips through export and import, and refusals of what the
engine cannot honour (each naming where).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.consent import Consent as ConsentR5
from fhir.resources.R4B.consent import Consent as ConsentR4

from consent import ConsentIn, ConsentRecord, UnsupportedFhir
from consent.fhir import (
    ACTCODE_SYSTEM,
    CATEGORY_SYSTEM,
    EXT_EVIDENCE,
    detect_version,
    from_fhir,
    to_fhir,
)
from tests.helpers.consent import CHILD, MOTHER, cpr, make_record

VERSIONS = ["R4", "R5"]
MODELS = {"R4": ConsentR4, "R5": ConsentR5}


def as_input(record: ConsentRecord) -> ConsentIn:
    return ConsentIn.model_validate(record.model_dump(include=set(ConsentIn.model_fields)))


RECORDS = {
    "everything": make_record(),
    "scoped": make_record(
        sources=["health", "school"],
        recipients=["school", "nav"],
        categories=["health.mental", "education.support"],
        purpose="school_followup",
        valid_until=dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        restrictions=[
            {"recipients": ["school"], "categories": ["health.mental"]},
            {"recipients": ["*"], "categories": ["health.substance"]},
        ],
    ),
    "pure_deny": make_record(
        recipients=["school"],
        categories=["health.mental"],
        restrictions=[{"recipients": ["school"], "categories": ["health.mental"]}],
    ),
    "family_plan": make_record(
        sources=["coordinator"],
        recipients=["*"],
        categories=["plan.goal", "plan.overview"],
    ),
    "danish": make_record(
        subject=cpr(dt.date(2012, 4, 4)),
        given_by=[cpr(dt.date(1985, 6, 1))],
        evidence={"method": "electronic", "reference": "MitID signature 7f3a"},
    ),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(RECORDS))
def test_export_then_import_gives_back_the_consent(version: str, name: str) -> None:
    record = RECORDS[name]
    exported = json.loads(json.dumps(to_fhir(record, version)))  # type: ignore[arg-type]
    MODELS[version].model_validate(exported)  # valid FHIR of that version
    assert detect_version(exported) == version
    assert from_fhir(exported) == as_input(record)
    assert from_fhir(exported, version) == as_input(record)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", VERSIONS)
def test_export_carries_ids_status_and_extensions(version: str) -> None:
    record = make_record(
        consent_id="c-17", version=2, status="withdrawn", withdrawal_reason="family asked"
    )
    exported = to_fhir(record, version)  # type: ignore[arg-type]
    assert (exported["id"], exported["meta"]["versionId"], exported["status"]) == (
        "c-17",
        "2",
        "inactive",
    )
    urls = {e["url"].rsplit("/", 1)[1] for e in exported["extension"]}
    assert {"consent-evidence", "consent-recorded-by", "consent-withdrawal-reason"} <= urls
    if version == "R5":
        assert exported["decision"] == "permit"
        assert exported["grantor"][0]["identifier"]["value"] in record.given_by
    else:
        assert exported["provision"]["type"] == "permit"
        assert exported["patient"]["identifier"]["value"] == CHILD


def exported(version: str, **overrides: Any) -> dict[str, Any]:
    return copy.deepcopy(to_fhir(make_record(**overrides), version))  # type: ignore[arg-type]


def root(resource: dict[str, Any]) -> dict[str, Any]:
    provision = resource["provision"]
    return provision[0] if isinstance(provision, list) else provision


def root_at(version: str) -> str:
    return "/provision/0" if version == "R5" else "/provision"


RESTRICTED = {"restrictions": [{"recipients": ["school"], "categories": ["health.mental"]}]}


@pytest.mark.parametrize("version", VERSIONS)
def test_deeper_nesting_is_refused(version: str) -> None:
    resource = exported(version, **RESTRICTED)
    nested = root(resource)["provision"][0]
    nested["provision"] = [copy.deepcopy(nested)]
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == f"{root_at(version)}/provision/0/provision"
    assert caught.value.status == 422


@pytest.mark.parametrize("version", VERSIONS)
def test_the_coordinator_is_a_source_never_a_recipient(version: str) -> None:
    resource = exported(version, sources=["coordinator"], recipients=["nav"])
    recipient = next(
        actor for actor in root(resource)["actor"] if actor["role"]["coding"][0]["code"] == "IRCP"
    )
    recipient["reference"]["identifier"]["value"] = "coordinator"
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == f"{root_at(version)}/actor/1/reference"


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_codes_are_refused(version: str) -> None:
    resource = exported(version, categories=["education.support"])
    root(resource)["code"][0]["coding"] = [{"system": CATEGORY_SYSTEM, "code": "dental"}]
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == f"{root_at(version)}/code/0"


@pytest.mark.parametrize("version", VERSIONS)
def test_sensitivity_codes_of_other_systems_map_through_the_table(version: str) -> None:
    resource = exported(version, categories=["education.support"])
    root(resource)["code"] = [{"coding": [{"system": ACTCODE_SYSTEM, "code": "ETH"}]}]
    assert from_fhir(resource).categories == ["health.substance"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda r, p: r.update(status="draft"), "/status"),
        (lambda r, p: p.update(purpose=[{"system": "urn:x", "code": "research"}]), "/purpose/0"),
        (lambda r, p: p.update(modifierExtension=[{"url": "urn:x", "valueBoolean": True}]), ""),
        (lambda r, p: p["actor"][0]["reference"]["identifier"].update(value="police"), ""),
        (
            lambda r, p: p.update(
                data=[{"meaning": "instance", "reference": {"reference": "X/1"}}]
            ),
            "",
        ),
        (lambda r, p: p.update(action=[{"coding": [{"code": "collect"}]}]), "/action/0"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_what_the_engine_cannot_honour_is_refused_with_its_location(
    version: str, mutate: Any, where: str
) -> None:
    resource = exported(version, recipients=["school"])
    mutate(resource, root(resource))
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field
    assert caught.value.field.startswith(where if where == "/status" else root_at(version))
    if where and where != "/status":
        assert caught.value.field.endswith(where)


def test_r4_exception_must_be_a_deny_and_persons_need_known_identifiers() -> None:
    resource = exported("R4", **RESTRICTED)
    resource["provision"]["provision"][0]["type"] = "permit"
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == "/provision/provision/0/type"
    resource = exported("R4")
    resource["patient"] = {"reference": "Patient/123"}
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == "/patient/identifier"
    resource = exported("R4")
    resource["performer"][0]["identifier"]["value"] = "12345678901"
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == "/performer/0/identifier/value"


def test_r5_more_than_one_scope_and_permits_inside_a_deny_are_refused() -> None:
    resource = exported("R5")
    resource["provision"].append(copy.deepcopy(resource["provision"][0]))
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == "/provision/1"
    resource = exported("R5", **RESTRICTED)
    resource["decision"] = "deny"
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field == "/provision/0/provision/0"


def test_a_foreign_consent_without_helhet_extensions_imports_with_defaults() -> None:
    resource = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": CHILD}},
        "performer": [{"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": MOTHER}}],
        "sourceAttachment": {"title": "Samtykkeskjema 2025-03-01"},
        "provision": {"type": "permit", "period": {"start": "2025-03-01"}},
    }
    consent = from_fhir(resource)
    assert consent.evidence.method == "fhir"
    assert "Samtykkeskjema" in consent.evidence.reference
    assert (consent.sources, consent.recipients, consent.categories) == (["*"], ["*"], ["*"])
    assert consent.purpose == "family_plan"
    assert consent.valid_from == dt.datetime(2025, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    resource["extension"] = [
        {"url": EXT_EVIDENCE, "extension": [{"url": "method", "valueCode": "x"}]}
    ]
    with pytest.raises(UnsupportedFhir):
        from_fhir(resource)


def test_not_a_consent_and_invalid_fhir_are_refused() -> None:
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir({"resourceType": "Patient"})
    assert caught.value.field == "/resourceType"
    resource = exported("R4")
    resource["provision"]["period"] = {"start": "yesterday"}
    with pytest.raises(UnsupportedFhir) as caught:
        from_fhir(resource)
    assert caught.value.field is not None and caught.value.field.startswith("/provision")
    with pytest.raises(UnsupportedFhir):
        detect_version({"resourceType": "Consent", "status": "active"})
