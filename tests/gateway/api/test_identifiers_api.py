"""Finding 1: identifiers written in non-ASCII digits are refused with 422 naming the field, on
every path that takes one (never a 500, never a silent 202, never a second enrolment)."""

from __future__ import annotations

import json

import httpx

from tests.helpers.gateway import Gateway

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _problem(response: httpx.Response, status: int, pointer: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert pointer in [e["pointer"] for e in response.json().get("errors", [])], response.text


def test_fullwidth_identifiers_are_refused_everywhere(api: Gateway) -> None:
    child, born = api.person(12)
    wide = child.translate(FULLWIDTH)
    assert wide != child and wide.isdigit()  # the probe's number: Unicode digits
    member = {"id": child, "role": "child", "birth_date": born.isoformat()}
    api.enrol([member], ["nav", "school"])

    with api.client("coordinator") as c:
        twin = {"id": wide, "role": "child", "birth_date": "2001-01-01"}
        response = c.post(
            "/v1/families",
            json={"members": [twin], "team": ["nav"], "coordinator": {"agency": "x", "name": "y"}},
        )
        _problem(response, 422, "/members/0/id")
        response = c.post(
            "/v1/consents",
            json={
                "subject": wide,
                "given_by": [wide],
                "sources": ["nav"],
                "recipients": ["school"],
                "categories": ["employment"],
                "evidence": {"method": "written", "reference": "x"},
            },
        )
        _problem(response, 422, "/subject")
        _problem(c.get("/v1/consents", params={"subject": wide}), 422, "query:subject")
    with api.client("privacy_officer") as c:
        _problem(c.get(f"/v1/subjects/{wide}/disclosures"), 422, "path:person")
        _problem(c.get("/v1/disclosures", params={"subject": wide}), 422, "query:subject")
    with api.client("nav") as c:
        response = c.post(
            "/v1/decisions",
            json={
                "subject": wide,
                "source": "nav",
                "recipient": "school",
                "categories": ["employment"],
            },
        )
        _problem(response, 422, "/subject")

    card = {
        "messageId": "0b6c7a8e-6f0e-4a8b-9a55-2f1f1e0e0001",
        "source": "TEAM_TILTAK",
        "actionType": "UPSERT_AKTIVITETSKORT_V1",
        "aktivitetskortType": "ARENA_TILTAK",
        "aktivitetskort": {
            "id": "c1f0a7f4-7f59-4a54-9d8e-1f0e3b1f0001",
            "personIdent": wide,
            "tittel": "Arbeidstrening",
            "aktivitetStatus": "GJENNOMFORES",
            "startDato": "2026-01-05",
            "endretAv": {"ident": "Z990000", "identType": "NAVIDENT"},
            "endretTidspunkt": "2026-01-05T10:00:00+01:00",
            "avtaltMedNav": True,
        },
    }
    response = api.post("nav", json.dumps(card).encode(), "application/json")
    assert response.status_code == 422, response.text
    assert "personIdent" in response.text
    # nothing was enrolled twice, nothing logged about the wide number
    assert len(api.log_entries()) == 0


def test_a_birth_date_contradicting_the_number_is_refused(api: Gateway) -> None:
    """Finding 8: 03441550188 is a child born 2015-04-03; enrolled as born 2001-01-01 it would
    count as an adult who consents alone. Refused with 422; left out, the number's is taken."""
    child = "03441550188"
    with api.client("coordinator") as c:
        body = {
            "members": [{"id": child, "role": "child", "birth_date": "2001-01-01"}],
            "team": ["nav", "health"],
            "coordinator": {"agency": "family_centre", "name": "K"},
        }
        _problem(c.post("/v1/families", json=body), 422, "/members/0/birth_date")
        del body["members"][0]["birth_date"]  # type: ignore[attr-defined]
        response = c.post("/v1/families", json=body)
        assert response.status_code == 201, response.text
        family = c.get(response.headers["location"]).json()
        assert family["members"][0]["birth_date"] == "2015-04-03"
        # a change of members is checked the same way
        body["members"][0]["birth_date"] = "2001-01-01"  # type: ignore[index]
        response = c.patch(response.headers["location"], json={"members": body["members"]})
        _problem(response, 422, "/members/0/birth_date")
