"""Native records and families that many end-to-end tests post and enrol."""

from __future__ import annotations

import json

from tests.helpers.gateway import Gateway


def nav_card(person: str, card_id: str = "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c61") -> bytes:
    return json.dumps(
        {
            "messageId": "6c1f7a1e-2b8d-4c1a-9a0e-3f1b2c3d4e50",
            "source": "TEAM_TILTAK",
            "actionType": "UPSERT_AKTIVITETSKORT_V1",
            "aktivitetskortType": "ARBEIDSTRENING",
            "aktivitetskort": {
                "id": card_id,
                "personIdent": person,
                "tittel": "Arbeidstrening",
                "aktivitetStatus": "GJENNOMFORES",
                "startDato": "2026-02-03",
                "sluttDato": "2026-08-01",
                "endretAv": {"ident": "Z990001", "identType": "NAVIDENT"},
                "endretTidspunkt": "2026-02-03T09:15:00",
                "avtaltMedNav": True,
            },
        }
    ).encode()


def young_person_family(gw: Gateway, team: list[str]) -> tuple[str, str]:
    person, born = gw.person(19)
    family = gw.enrol([{"id": person, "role": "child", "birth_date": born.isoformat()}], team)
    return person, family


def nav_shares_employment_with_school(gw: Gateway, person: str) -> str:
    """The young person's consent: NAV may share `employment` with the school (its id)."""
    return gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
