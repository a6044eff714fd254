"""The consent API over a real HTTP server on both databases: recording (native, FHIR R4 and
R5), reading and FHIR export, refusals naming the field, withdrawal, decisions, legal bases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.db.tables import outbox
from schemas import is_valid_person_id
from tests.helpers.gateway import Gateway
from tests.helpers.records import nav_card

STATUTE_TOML = """
[[statutory_bases]]
id = "no-bvl-13-2"
law = "barnevernsloven"
chapter = "13"
section = "§ 13-2"
description = "Opplysningsplikt til barneverntjenesten"
sources = ["school", "health"]
recipients = ["child_welfare"]
categories = ["*"]
"""
PROBLEM = "application/problem+json"
PERSON_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
SCOPE = ("subject", "given_by", "sources", "recipients", "categories", "purpose", "restrictions")


@pytest.fixture
def gateway_toml() -> str:
    return STATUTE_TOML


def child_with_guardians(gw: Gateway, team: list[str]) -> tuple[str, list[str], str]:
    """A 15-year-old with two guardians, enrolled: (child, guardians, family id)."""
    child, born = gw.person(15)
    mother, mother_born = gw.person(44)
    father, father_born = gw.person(46)
    family = gw.enrol(
        [
            {"id": mother, "role": "parent", "birth_date": mother_born.isoformat()},
            {"id": father, "role": "parent", "birth_date": father_born.isoformat()},
            {
                "id": child,
                "role": "child",
                "birth_date": born.isoformat(),
                "guardians": [mother, father],
            },
        ],
        team,
    )
    return child, [mother, father], family


def consent_body(subject: str, given_by: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "given_by": given_by,
        "sources": ["*"],
        "recipients": ["*"],
        "categories": ["*"],
        "evidence": {"method": "written", "reference": "case 2026/4, form signed"},
        **fields,
    }


def record(gw: Gateway, body: dict[str, Any]) -> dict[str, Any]:
    with gw.client("coordinator") as c:
        answer = c.post("/v1/consents", json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def ask(gw: Gateway, who: str, **request: Any) -> httpx.Response:
    with gw.client(who) as c:
        return c.post("/v1/decisions", json={"purpose": "family_plan", **request})


def answers(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {a["category"]: a for a in response.json()["answers"]}


def pointers(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == PROBLEM, response.text
    return [e["pointer"] for e in response.json()["errors"]]


def corrupt(person: str) -> str:
    """The same number with a wrong check digit."""
    wrong = person[:-1] + str((int(person[-1]) + 1) % 10)
    assert not is_valid_person_id(wrong)
    return wrong


def test_record_read_list_and_history(gw: Gateway) -> None:
    child, guardians, _ = child_with_guardians(gw, ["nav", "school", "health"])
    body = consent_body(
        child,
        guardians,
        sources=["health", "school"],
        recipients=["school", "nav"],
        categories=["health.child", "education.support"],
        valid_until="2099-01-01T00:00:00+01:00",
        restrictions=[{"recipients": ["nav"], "categories": ["health.child"]}],
    )
    with gw.client("coordinator") as c:
        created = c.post("/v1/consents", json=body)
    assert created.status_code == 201, created.text
    consent = created.json()
    assert created.headers["location"] == f"/v1/consents/{consent['consent_id']}"
    expected = {**body, "purpose": "family_plan"}
    assert {k: consent[k] for k in SCOPE} == {k: expected[k] for k in SCOPE}
    assert (consent["version"], consent["status"], consent["recorded_by"]) == (
        1,
        "active",
        "coordinator",
    )
    assert dt.datetime.fromisoformat(consent["valid_until"]) == dt.datetime(
        2099, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )

    for reader in ("coordinator", "privacy_officer"):
        with gw.client(reader) as c:
            assert c.get(created.headers["location"]).json() == consent
            assert c.get(f"/v1/consents/{consent['consent_id']}?version=1").json() == consent
            listed = c.get("/v1/consents", params={"subject": child}).json()
            assert listed == {"subject": child, "consents": [consent]}
            history = c.get(f"/v1/consents/{consent['consent_id']}/history").json()
            assert history["versions"] == [consent]
            # someone else's consents are not in the list
            assert c.get("/v1/consents", params={"subject": guardians[0]}).json()["consents"] == []

    with gw.client("coordinator") as c:
        missing = c.get("/v1/consents/no-such-consent")
        assert missing.status_code == 404
        assert pointers(missing) == ["path:consent_id"]
        no_version = c.get(f"/v1/consents/{consent['consent_id']}?version=2")
        assert no_version.status_code == 404
        assert pointers(no_version) == ["query:version"]
        bad_subject = c.get("/v1/consents", params={"subject": corrupt(child)})
        assert bad_subject.status_code == 422
        assert pointers(bad_subject) == ["query:subject"]

    entries = [e for e in gw.log_entries() if e.event_type.value == "consent"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.outcome == "recorded"
    assert entry.basis == f"consent:{consent['consent_id']}@1"
    assert entry.subject_pseudonym == gw.services.pseudonym(child)
    assert entry.details["recipients"] == ["school", "nav"]


def test_fhir_import_and_export_round_trip(gw: Gateway) -> None:
    child, guardians, _ = child_with_guardians(gw, ["nav", "school", "health"])
    original = record(
        gw,
        consent_body(
            child,
            guardians,
            sources=["health"],
            recipients=["school", "nav"],
            categories=["health.mental", "health.child"],
            purpose="family_plan",  # the one purpose the gateway forwards for
            valid_until="2030-06-01T00:00:00+02:00",
            restrictions=[{"recipients": ["school"], "categories": ["health.mental"]}],
        ),
    )
    for fmt, version, param in (("fhir-r4", "4.0", "4.0.1"), ("fhir-r5", "5.0", "5.0.0")):
        with gw.client("privacy_officer") as c:
            exported = c.get(f"/v1/consents/{original['consent_id']}", params={"format": fmt})
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"] == f"application/fhir+json; fhirVersion={version}"
        resource = exported.json()
        assert resource["resourceType"] == "Consent"
        assert resource["id"] == original["consent_id"]
        assert resource["meta"]["versionId"] == "1"
        # import what was exported, once telling the version and once leaving it to detection
        for content_type in (
            f"application/fhir+json; fhirVersion={param}",
            "application/fhir+json",
        ):
            with gw.client("coordinator") as c:
                imported = c.post(
                    "/v1/consents",
                    content=exported.content,
                    headers={"Content-Type": content_type},
                )
            assert imported.status_code == 201, imported.text
            copy = imported.json()
            assert copy["consent_id"] != original["consent_id"]
            for key in (*SCOPE, "evidence"):
                assert copy[key] == original[key], (fmt, key)
            for key in ("valid_from", "valid_until"):
                assert dt.datetime.fromisoformat(copy[key]) == dt.datetime.fromisoformat(
                    original[key]
                )

    # Consents written by other systems: R4 with a v3-ActCode sensitivity code, R5 with grantor
    mother = guardians[0]
    r4: dict[str, Any] = {
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
        "patient": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": child}},
        "performer": [
            {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": g}}
            for g in guardians
        ],
        "sourceReference": {"reference": "DocumentReference/signed-form-17"},
        "policyRule": {"text": "samtykke"},
        "provision": {
            "type": "permit",
            "period": {"start": "2026-01-01", "end": "2027-01-01"},
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                            }
                        ]
                    },
                    "reference": {
                        "identifier": {
                            "system": "https://helhet.no/fhir/NamingSystem/agency",
                            "value": "school",
                        }
                    },
                }
            ],
            "code": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "MH"}
                    ]
                }
            ],
        },
    }
    r5: dict[str, Any] = {
        "resourceType": "Consent",
        "status": "active",
        "subject": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": child}},
        "grantor": [{"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": mother}}],
        "decision": "deny",
        "identifier": [{"system": "urn:example:consents", "value": "c-9"}],
        "provision": [
            {
                "code": [
                    {
                        "coding": [
                            {
                                "system": "https://helhet.no/fhir/CodeSystem/category",
                                "code": "health.substance",
                            }
                        ]
                    }
                ]
            }
        ],
    }
    with gw.client("coordinator") as c:
        from_r4 = c.post(
            "/v1/consents", json=r4, headers={"Content-Type": "application/fhir+json"}
        ).json()
        from_r5 = c.post(
            "/v1/consents", json=r5, headers={"Content-Type": "application/fhir+json"}
        ).json()
    assert (from_r4["recipients"], from_r4["categories"]) == (["school"], ["health.mental"])
    assert from_r4["given_by"] == guardians
    assert from_r4["evidence"] == {
        "method": "fhir",
        "reference": "FHIR Consent DocumentReference/signed-form-17",
    }
    assert dt.datetime.fromisoformat(from_r4["valid_until"]) == dt.datetime(
        2027, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert from_r5["restrictions"] == [{"recipients": ["*"], "categories": ["health.substance"]}]
    with gw.client("coordinator") as c:
        listed = c.get("/v1/consents", params={"subject": child}).json()["consents"]
    assert len(listed) == 1 + 2 + 2 + 2

    # what the engine cannot honour is refused, naming where in the FHIR resource
    deeper = {
        **r4,
        "provision": {
            **r4["provision"],
            "provision": [{"type": "deny", "provision": [{"type": "deny"}]}],
        },
    }
    unknown_code = {
        **r4,
        "provision": {**r4["provision"], "code": [{"coding": [{"system": "urn:x", "code": "y"}]}]},
    }
    wrong_number = {
        **r5,
        "subject": {"identifier": {"system": PERSON_SYSTEM, "value": corrupt(child)}},
    }
    refused = {
        "/provision/provision/0/provision": deeper,
        "/provision/code/0": unknown_code,
        "/subject/identifier/value": wrong_number,
    }
    with gw.client("coordinator") as c:
        for pointer, resource in refused.items():
            answer = c.post(
                "/v1/consents", json=resource, headers={"Content-Type": "application/fhir+json"}
            )
            assert answer.status_code == 422, answer.text
            assert pointers(answer) == [pointer]
        as_native = c.post("/v1/consents", json=r4)
        assert as_native.status_code == 415
        assert len(c.get("/v1/consents", params={"subject": child}).json()["consents"]) == 7


def test_refusals_name_the_field(gw: Gateway) -> None:
    child, guardians, _ = child_with_guardians(gw, ["nav", "school"])
    good = consent_body(child, guardians)
    cases = {
        "/categories/0": {**good, "categories": ["health.bogus"]},
        "/sources/1": {**good, "sources": ["nav", "police"]},
        "/subject": {**good, "subject": corrupt(child)},
        "/given_by/1": {**good, "given_by": [guardians[0], corrupt(guardians[1])]},
        "/restrictions/0/recipients/0": {
            **good,
            "restrictions": [{"recipients": ["bank"], "categories": ["*"]}],
        },
        "/evidence": {k: v for k, v in good.items() if k != "evidence"},
        "/valid_until": {**good, "valid_until": "2020-01-01T00:00:00+01:00"},
        "/colour": {**good, "colour": "blue"},
    }
    with gw.client("coordinator") as c:
        for pointer, body in cases.items():
            answer = c.post("/v1/consents", json=body)
            assert answer.status_code == 422, (pointer, answer.text)
            assert pointers(answer) == [pointer], answer.text
            assert pointer in answer.json()["detail"] or pointer == "/valid_until"
        not_json = c.post(
            "/v1/consents", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert not_json.status_code == 422
        as_text = c.post("/v1/consents", content=b"{}", headers={"Content-Type": "text/plain"})
        assert as_text.status_code == 415
        assert pointers(as_text) == ["header:Content-Type"]
        unknown_version = c.post(
            "/v1/consents",
            content=b"{}",
            headers={"Content-Type": "application/fhir+json; fhirVersion=3.0"},
        )
        assert unknown_version.status_code == 415
        enum_message = c.post("/v1/consents", json=cases["/sources/1"]).json()["errors"][0]
        assert "'housing'" in enum_message["detail"] and "'*'" in enum_message["detail"]

    for who in ("privacy_officer", "nav", "operator"):
        with gw.client(who) as c:
            answer = c.post("/v1/consents", json=good)
        assert answer.status_code == 403, who
        assert answer.headers["content-type"] == PROBLEM
    with gw.client("nav") as c:
        assert c.get("/v1/consents", params={"subject": child}).status_code == 403
    with httpx.Client(base_url=gw.base_url) as anonymous:
        no_token = anonymous.post("/v1/consents", json=good)
        assert no_token.status_code == 401
        assert no_token.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.get("/v1/consents", params={"subject": child}).status_code == 401
        assert anonymous.post("/v1/decisions", json={}).status_code == 401
        forged = anonymous.get("/v1/legal-bases", headers={"Authorization": "Bearer hh_forged"})
        assert forged.status_code == 401

    with gw.client("coordinator") as c:
        assert c.get("/v1/consents", params={"subject": child}).json()["consents"] == []
    assert [e for e in gw.log_entries() if e.event_type.value == "consent"] == []
    assert record(gw, good)["status"] == "active"  # the good body itself is fine


def test_withdrawal_and_decisions(gw: Gateway) -> None:
    child, guardians, _ = child_with_guardians(gw, ["nav", "school", "health"])
    consent = record(
        gw,
        consent_body(
            child,
            guardians,
            restrictions=[{"recipients": ["school"], "categories": ["health.mental"]}],
        ),
    )
    basis = f"consent:{consent['consent_id']}@1"
    question = {
        "subject": child,
        "source": "health",
        "recipient": "school",
        "categories": ["health.child", "health.mental", "education.support"],
    }
    before = answers(ask(gw, "coordinator", **question))
    assert list(before) == question["categories"]
    assert before["health.child"] == {
        "category": "health.child",
        "permit": True,
        "reason": "permitted_by_consent",
        "basis": basis,
    }
    assert before["health.mental"]["permit"] is False
    assert (before["health.mental"]["reason"], before["health.mental"]["basis"]) == (
        "restricted",
        basis,
    )
    earlier = dt.datetime.fromisoformat(consent["valid_from"]) - dt.timedelta(days=1)
    yesterday = answers(ask(gw, "privacy_officer", **question, at=earlier.isoformat()))
    assert {a["reason"] for a in yesterday.values()} == {"not_yet_valid"}

    # a consent given by one guardian only does not count for a child under the age
    other_child, other_guardians, _ = child_with_guardians(gw, ["nav", "school"])
    record(gw, consent_body(other_child, other_guardians[:1]))
    one_guardian = answers(
        ask(gw, "coordinator", **{**question, "subject": other_child, "source": "nav"})
    )
    assert {a["reason"] for a in one_guardian.values()} == {"guardian_missing"}

    with gw.client("coordinator") as c:
        missing_reason = c.post(f"/v1/consents/{consent['consent_id']}/withdraw", json={})
        assert missing_reason.status_code == 422
        assert pointers(missing_reason) == ["/reason"]
        withdrawn = c.post(
            f"/v1/consents/{consent['consent_id']}/withdraw",
            json={"reason": "the mother called the family centre"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        body = withdrawn.json()
        assert (body["version"], body["status"], body["notices"]) == (2, "withdrawn", 0)
        assert body["withdrawal_reason"] == "the mother called the family centre"
        again = c.post(f"/v1/consents/{consent['consent_id']}/withdraw", json={"reason": "again"})
        assert again.status_code == 409
        assert pointers(again) == ["path:consent_id"]
        unknown = c.post("/v1/consents/nope/withdraw", json={"reason": "x"})
        assert unknown.status_code == 404
        history = c.get(f"/v1/consents/{consent['consent_id']}/history").json()["versions"]
        assert [(v["version"], v["status"]) for v in history] == [(1, "active"), (2, "withdrawn")]
        latest = c.get(f"/v1/consents/{consent['consent_id']}", params={"format": "fhir-r4"})
        assert latest.json()["status"] == "inactive"
    with gw.client("privacy_officer") as c:
        refused = c.post(f"/v1/consents/{consent['consent_id']}/withdraw", json={"reason": "x"})
        assert refused.status_code == 403

    after = answers(ask(gw, "coordinator", **question))
    assert {a["permit"] for a in after.values()} == {False}
    assert after["health.child"]["reason"] == "withdrawn"
    assert after["health.child"]["basis"] == f"consent:{consent['consent_id']}@2"

    # a withdrawal another gateway process recorded counts at once: the decision refreshes first
    other = record(gw, consent_body(child, guardians, categories=["education.support"]))
    assert answers(ask(gw, "coordinator", **question))["education.support"]["permit"] is True
    assert gw.withdraw(other["consent_id"]) == 0  # straight to the store, as another process
    assert answers(ask(gw, "coordinator", **question))["education.support"]["permit"] is False

    outcomes = [(e.outcome, e.basis) for e in gw.log_entries() if e.event_type.value == "consent"]
    assert ("recorded", basis) in outcomes
    assert ("withdrawn", f"consent:{consent['consent_id']}@2") in outcomes
    assert len(outcomes) == 5  # three consents recorded, two withdrawn


def test_agency_decisions_are_limited(gw: Gateway) -> None:
    child, guardians, _ = child_with_guardians(gw, ["nav", "school", "child_welfare"])
    consent = record(
        gw,
        consent_body(
            child,
            guardians,
            sources=["nav"],
            recipients=["school"],
            categories=["employment", "income_support"],
            restrictions=[{"recipients": ["school"], "categories": ["income_support"]}],
        ),
    )
    own = {
        "subject": child,
        "source": "nav",
        "recipient": "school",
        "categories": ["employment", "income_support", "housing.support"],
    }
    as_nav = answers(ask(gw, "nav", **own))
    assert as_nav == {
        "employment": {"category": "employment", "permit": True, "reason": "permitted_by_consent"},
        "income_support": {"category": "income_support", "permit": False, "reason": "restricted"},
        "housing.support": {
            "category": "housing.support",
            "permit": False,
            "reason": "out_of_scope",
        },
    }
    as_coordinator = answers(ask(gw, "coordinator", **own))
    assert as_coordinator["employment"]["basis"] == f"consent:{consent['consent_id']}@1"
    assert {k: {**v, "basis": None} for k, v in as_coordinator.items()} == {
        k: {**v, "basis": None} for k, v in as_nav.items()
    }

    as_other = ask(gw, "nav", **{**own, "source": "school"})
    assert as_other.status_code == 403
    assert pointers(as_other) == ["/source"]

    # the statutory duty to inform child welfare: permitted without consent
    duty = {**own, "source": "school", "recipient": "child_welfare", "categories": ["plan.goal"]}
    assert answers(ask(gw, "school", **duty))["plan.goal"] == {
        "category": "plan.goal",
        "permit": True,
        "reason": "permitted_by_statute",
    }
    assert answers(ask(gw, "privacy_officer", **duty))["plan.goal"]["basis"] == (
        "statute:no-bvl-13-2"
    )
    assert answers(ask(gw, "nav", **{**duty, "source": "nav"}))["plan.goal"]["permit"] is False

    stranger, _ = gw.person(30)
    not_enrolled = ask(gw, "nav", **{**own, "subject": stranger})
    assert not_enrolled.status_code == 404
    assert pointers(not_enrolled) == ["/subject"]
    bad = ask(gw, "coordinator", **{**own, "categories": ["employment", "astrology"]})
    assert bad.status_code == 422
    assert pointers(bad) == ["/categories/1"]
    assert ask(gw, "operator", **own).status_code == 403


def test_legal_bases_and_openapi(gw: Gateway) -> None:
    for who in ("coordinator", "privacy_officer"):
        with gw.client(who) as c:
            listed = c.get("/v1/legal-bases")
        assert listed.status_code == 200, listed.text
        (basis,) = listed.json()["legal_bases"]
        assert basis["id"] == "no-bvl-13-2"
        assert (basis["law"], basis["section"]) == ("barnevernsloven", "§ 13-2")
        assert basis["recipients"] == ["child_welfare"]
    for who in ("nav", "operator"):
        with gw.client(who) as c:
            assert c.get("/v1/legal-bases").status_code == 403

    with httpx.Client(base_url=gw.base_url) as c:
        spec = c.get("/openapi.json").json()
    for path in ("/v1/consents", "/v1/consents/{consent_id}", "/v1/decisions", "/v1/legal-bases"):
        assert path in spec["paths"]
    schemas = spec["components"]["schemas"]

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    dangling = {r for r in refs(spec) if r.removeprefix("#/components/schemas/") not in schemas}
    assert dangling == set()
    body = spec["paths"]["/v1/consents"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/fhir+json"}


def test_withdrawal_after_delivery_notifies_the_recipient(gw: Gateway) -> None:
    person, born = gw.person(19)
    family = gw.enrol(
        [{"id": person, "role": "child", "birth_date": born.isoformat()}], ["nav", "school"]
    )
    consent = record(
        gw,
        consent_body(
            person, [person], sources=["nav"], recipients=["school"], categories=["employment"]
        ),
    )
    posted = gw.post("nav", nav_card(person), "application/json")
    assert posted.status_code == 202, posted.text
    assert posted.json()["routes"][0]["disclosed"] == ["employment"]
    assert gw.relay().run_once().delivered == 1

    with gw.client("coordinator") as c:
        withdrawn = c.post(
            f"/v1/consents/{consent['consent_id']}/withdraw", json={"reason": "changed my mind"}
        )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["notices"] == 1
    assert gw.count(outbox, outbox.c.kind == "withdrawal") == 1
    assert gw.relay().run_once().delivered == 1

    received = gw.receive("school")
    assert all(m.ok for m in received), [m.error for m in received]
    kinds = [m.message.kind for m in received]
    assert kinds == ["plan_update", "withdrawal"]
    notice = received[1].message
    assert notice.family_id == family
    assert notice.payload["consent_id"] == consent["consent_id"]
    assert notice.payload["version"] == 2
    assert notice.payload["categories"] == ["employment"]

    # and nothing more flows under it
    again = gw.post(
        "nav", nav_card(person, "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"), "application/json"
    )
    assert again.status_code == 202
    assert again.json()["routes"][0]["withheld"] == ["employment"]
    consent_entries = [
        (e.outcome, e.details["version"])
        for e in gw.log_entries()
        if e.event_type.value == "consent"
    ]
    assert consent_entries == [("recorded", 1), ("withdrawn", 2)]
    notices = [e for e in gw.log_entries() if e.reason == "withdrawal_notice"]
    assert [(n.recipient, n.event_type.value) for n in notices] == [("school", "disclosure")]
