"""Families and teams over a real HTTP server (both databases): enrolment, validation, changes,
and routing that follows them (a person in two families is served in each)."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.identifiers import classic_check_digits
from tests.helpers.gateway import Gateway
from tests.helpers.records import nav_card


def _member(person: str, born: dt.date, role: str = "child", guardians: list[str] | None = None):
    return {
        "id": person,
        "role": role,
        "birth_date": born.isoformat(),
        "guardians": guardians or [],
    }


COORDINATOR = {"agency": "familiesenteret", "name": "Kari Koordinator"}


def test_enrol_read_and_change(gw: Gateway) -> None:
    parent, parent_born = gw.person(40)
    child, child_born = gw.person(12)
    with gw.client("coordinator") as c:
        created = c.post(
            "/v1/families",
            json={
                "members": [
                    _member(parent, parent_born, "parent"),
                    _member(child, child_born, guardians=[parent]),
                ],
                "team": ["school", "health"],
                "coordinator": COORDINATOR,
            },
        )
        assert created.status_code == 201
        family_id = created.json()["family_id"]
        assert created.headers["location"] == f"/v1/families/{family_id}"
        read = c.get(f"/v1/families/{family_id}").json()
        assert read["team"] == ["school", "health"] and read["version"] == 1
        assert read["municipality"] == gw.settings.municipality
        changed = c.patch(f"/v1/families/{family_id}", json={"team": ["school", "nav"]})
        assert changed.status_code == 200 and changed.json()["version"] == 2
        assert c.get(f"/v1/families/{family_id}").json()["team"] == ["school", "nav"]
        assert c.get("/v1/families/nope").status_code == 404
    with gw.client("nav") as c:
        assert c.get(f"/v1/families/{family_id}").status_code == 403


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"team": ["school", "police"]}, "/team/1"),
        (
            {"members": [{"id": "12345678901", "role": "child", "birth_date": "2010-01-01"}]},
            "/members/0/id",
        ),
        (
            {"members": [{"id": "{child}", "role": "cousin", "birth_date": "2010-01-01"}]},
            "/members/0/role",
        ),
        ({"team": []}, "/team"),
    ],
)
def test_invalid_families_name_the_field(gw: Gateway, change: dict, pointer: str) -> None:
    child, born = gw.person(12)
    body = {"members": [_member(child, born)], "team": ["school"], "coordinator": COORDINATOR}
    for key, value in change.items():
        body[key] = [
            {**m, "id": child} if isinstance(m, dict) and m.get("id") == "{child}" else m
            for m in value
        ]
    with gw.client("coordinator") as c:
        response = c.post("/v1/families", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


def test_birth_date_must_agree_with_the_number_and_across_families(gw: Gateway) -> None:
    child, born = gw.person(12)
    gw.enrol([_member(child, born)], ["school"])
    with gw.client("coordinator") as c:
        response = c.post(
            "/v1/families",
            json={
                "members": [_member(child, born + dt.timedelta(days=1))],
                "team": ["nav"],
                "coordinator": COORDINATOR,
            },
        )
    # the number itself encodes the date: a contradicting one is refused before any lookup
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/members/0/birth_date"

    # A number whose individual digits give no century (800 with year 55) carries a stated
    # date; it must then be the same in every family.
    prefix = "154455800"
    number = prefix + (classic_check_digits(prefix) or "")
    gw.enrol([_member(number, dt.date(1955, 4, 15))], ["school"])
    with gw.client("coordinator") as c:
        response = c.post(
            "/v1/families",
            json={
                "members": [_member(number, dt.date(1855, 4, 15))],
                "team": ["nav"],
                "coordinator": COORDINATOR,
            },
        )
    assert response.status_code == 409
    assert response.json()["errors"][0]["pointer"] == "/members/0/birth_date"


def test_a_coordinator_finds_a_person_s_families_and_the_read_is_logged(gw: Gateway) -> None:
    parent, parent_born = gw.person(41)
    child, child_born = gw.person(9)
    stranger = gw.person(30)[0]
    first = gw.enrol(
        [_member(parent, parent_born, "parent"), _member(child, child_born, guardians=[parent])],
        ["school"],
    )
    second = gw.enrol([_member(child, child_born)], ["health"])
    with gw.client("coordinator") as c:
        found = c.get("/v1/families", params={"person": child})
        nobody = c.get("/v1/families", params={"person": stranger})
        bad = c.get("/v1/families", params={"person": child[:-1] + "x"})
    assert found.status_code == 200
    assert [f["family_id"] for f in found.json()["families"]] == [first, second]
    assert found.json()["families"][1]["team"] == ["health"]
    assert nobody.json() == {"families": []}
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "query:person"
    reads = [e for e in gw.log_entries() if e.event_type.value == "access" and e.outcome == "read"]
    assert [e.details["read"] for e in reads] == ["/v1/families", "/v1/families"]
    assert reads[0].subject_pseudonym == gw.services.pseudonym(child)
    assert reads[0].details["families"] == 2 and reads[1].details["families"] == 0
    with gw.client("school") as c:
        assert c.get("/v1/families", params={"person": child}).status_code == 403


def test_person_in_two_families_is_served_in_each(gw: Gateway) -> None:
    young, born = gw.person(19)
    first = gw.enrol([_member(young, born, "other")], ["nav", "school"])
    second = gw.enrol([_member(young, born, "other")], ["nav", "housing"])
    gw.consent(
        subject=young,
        given_by=[young],
        sources=["nav"],
        recipients=["*"],
        categories=["employment"],
    )
    answer = gw.post("nav", nav_card(young), "application/json").json()
    routes = {(r["family_id"], r["recipient"]) for r in answer["routes"] if r["disclosed"]}
    assert routes == {(first, "school"), (second, "housing")}


def test_changed_team_changes_routing(gw: Gateway) -> None:
    young, born = gw.person(19)
    family = gw.enrol([_member(young, born, "other")], ["nav", "school"])
    gw.consent(
        subject=young,
        given_by=[young],
        sources=["nav"],
        recipients=["*"],
        categories=["employment"],
    )
    with gw.client("coordinator") as c:
        assert c.patch(f"/v1/families/{family}", json={"team": ["nav", "housing"]}).is_success
    answer = gw.post("nav", nav_card(young), "application/json").json()
    assert [r["recipient"] for r in answer["routes"]] == ["housing"]
