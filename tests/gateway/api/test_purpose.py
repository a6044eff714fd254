"""Purpose: the gateway forwards only for `family_plan`, so a consent for any other purpose
would be accepted and never cover anything. It is refused with 422 listing the known purposes,
in the native format and in FHIR, and nothing is stored or logged."""

from __future__ import annotations

from typing import Any

from consent.fhir import PURPOSE_SYSTEM
from tests.helpers.gateway import Gateway


def _native(subject: str, **fields: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "given_by": [subject],
        "sources": ["nav"],
        "recipients": ["school"],
        "categories": ["employment"],
        "evidence": {"method": "written", "reference": "x"},
        **fields,
    }


def test_unknown_purposes_are_refused(api: Gateway) -> None:
    young, born = api.person(19)
    api.enrol([{"id": young, "role": "child", "birth_date": born.isoformat()}], ["nav", "school"])
    with api.client("coordinator") as c:
        refused = c.post("/v1/consents", json=_native(young, purpose="research"))
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == "/purpose"
        assert "only for family_plan" in refused.json()["detail"]

        recorded = c.post("/v1/consents", json=_native(young))
        assert recorded.status_code == 201, recorded.text
        consent_id = recorded.json()["consent_id"]
        fhir = c.get(f"/v1/consents/{consent_id}", params={"format": "fhir-r4"}).json()
        assert fhir["provision"]["purpose"][0]["code"] == "family_plan"
        fhir["provision"]["purpose"] = [{"system": PURPOSE_SYSTEM, "code": "research"}]
        refused = c.post(
            "/v1/consents", json=fhir, headers={"Content-Type": "application/fhir+json"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == "/provision/purpose/0"
        listed = c.get("/v1/consents", params={"subject": young}).json()["consents"]
    assert [consent["consent_id"] for consent in listed] == [consent_id]
    assert [e.event_type.value for e in api.log_entries()] == ["consent"]
