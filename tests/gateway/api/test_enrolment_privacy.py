"""Finding 3: an agency learns nothing about families it is not on. A decision about a person
in another team's family, and one about a person in no family, get the same answer; a record
about a child in a family whose team lacks the sender names no family and no recipient."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.gateway import Gateway
from tests.helpers.records import nav_card


def _ask(api: Gateway, who: str, subject: str) -> httpx.Response:
    with api.client(who) as c:
        return c.post(
            "/v1/decisions",
            json={
                "subject": subject,
                "source": who,
                "recipient": "health",
                "categories": ["employment"],
            },
        )


def _shape(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = response.json()
    body.pop("instance", None)
    return response.status_code, body


def test_decisions_tell_an_outside_agency_nothing(api: Gateway) -> None:
    child, born = api.person(12)
    api.enrol([{"id": child, "role": "child", "birth_date": born.isoformat()}], ["nav", "health"])
    stranger, _ = api.person(12)

    assert _ask(api, "nav", child).status_code == 200  # on the team: an answer
    enrolled_elsewhere = _ask(api, "school", child)
    not_enrolled = _ask(api, "school", stranger)
    assert enrolled_elsewhere.status_code == 404
    assert _shape(enrolled_elsewhere) == _shape(not_enrolled)
    assert "family" not in enrolled_elsewhere.text.replace("no family", "")
    with api.client("coordinator") as c:  # the coordinator still hears the difference
        asked = {"source": "school", "recipient": "health", "categories": ["employment"]}
        assert c.post("/v1/decisions", json={"subject": child, **asked}).status_code == 200


def test_a_record_names_no_family_the_sender_is_not_on(api: Gateway) -> None:
    child, born = api.person(19)
    family = api.enrol(
        [{"id": child, "role": "child", "birth_date": born.isoformat()}], ["school", "health"]
    )
    api.consent(
        subject=child,
        given_by=[child],
        sources=["*"],
        recipients=["*"],
        categories=["*"],
    )
    stranger, _ = api.person(19)

    about_child = api.post(
        "nav", nav_card(child, "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c62"), "application/json"
    )
    about_stranger = api.post("nav", nav_card(stranger), "application/json")
    assert about_child.status_code == about_stranger.status_code == 202
    assert about_child.json()["routes"] == about_stranger.json()["routes"] == []
    assert about_child.json().keys() == about_stranger.json().keys()
    assert family not in about_child.text and "school" not in about_child.text
    # the record was still forwarded as consent permits: the answer only says less
    disclosed = [e for e in api.log_entries() if e.event_type.value == "disclosure"]
    assert {e.recipient for e in disclosed} == {"school", "health"}

    # an agency on the team sees its record's routes, as before
    own = api.enrol([{"id": stranger, "role": "child"}], ["nav", "school"])
    api.consent(
        subject=stranger, given_by=[stranger], sources=["*"], recipients=["*"], categories=["*"]
    )
    again = api.post(
        "nav", nav_card(stranger, "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c63"), "application/json"
    )
    assert [(r["family_id"], r["recipient"]) for r in again.json()["routes"]] == [(own, "school")]
