"""The console's test world: a gateway with a family (a child and two guardians), a consent,
a forwarded school record and a signed checkpoint; and an HTTP client signed in to the console.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from gateway.checkpoints.issuer import issue_now
from tests.helpers import intake
from tests.helpers.gateway import Gateway

NO_BROKER = "127.0.0.1:9"  # the relay stays off: forwarded messages wait in the outbox

# A statute (school -> child welfare) and names for two agencies, appended to helhet.toml.
CONSOLE_TOML = """
[[statutory_bases]]
id = "bvl-13-2"
law = "barnevernsloven"
section = "§ 13-2"
description = "Duty of public services to inform child welfare of serious concern for a child"
sources = ["school"]
recipients = ["child_welfare"]
categories = ["education.attendance"]

[agencies.health]
name = "Helsestasjonen Testby"

[agencies.child_welfare]
name = "Barneverntjenesten Testby"
"""


@dataclass
class Seeded:
    """A gateway's people: a child with two guardians, their family and the child's consent."""

    gw: Gateway
    child: str
    parents: tuple[str, str]
    family_id: str
    consent_id: str


def seed(gw: Gateway) -> Seeded:
    """One family; a consent (school -> health, attendance); a school record about the child
    (health by consent, child welfare by statute, support refused) and a signed checkpoint."""
    services = gw.services
    mother, mother_born = intake.person(38)
    father, father_born = intake.person(41)
    child, child_born = intake.person(10)
    family_id = intake.enrol(
        services,
        [
            {"id": mother, "role": "parent", "birth_date": mother_born.isoformat()},
            {"id": father, "role": "parent", "birth_date": father_born.isoformat()},
            {
                "id": child,
                "role": "child",
                "birth_date": child_born.isoformat(),
                "guardians": [mother, father],
            },
        ],
        ["school", "health", "child_welfare", "nav"],
    )
    consent_id = intake.consent(
        services,
        child,
        given_by=[mother, father],
        sources=["school"],
        recipients=["health"],
        categories=["education.attendance"],
    )
    intake.forward(
        services,
        "school",
        [intake.plan_update("school", child, ["education.attendance", "education.support"])],
    )
    issue_now(gw.instance)
    return Seeded(gw, child, (mother, father), family_id, consent_id)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


@contextmanager
def signed_in(gw: Gateway, who: str) -> Iterator[httpx.Client]:
    """An HTTP client holding a console session for `who` (a key of gw.tokens)."""
    with httpx.Client(base_url=gw.base_url, timeout=30) as client:
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in",
            data={"csrf": csrf_of(form.text), "token": gw.tokens[who], "next": "/console"},
        )
        assert answer.status_code == 303, answer.text
        yield client


def post_form(
    client: httpx.Client, page: str, action: str, data: dict[str, object]
) -> httpx.Response:
    """Submit a form as the browser would: with the CSRF token of the page it is on."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf": token, **data})  # type: ignore[dict-item]
