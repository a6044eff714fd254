"""Signing in to the console on a real server: cookie flags, CSRF, refusals logged as the
API's are, revocation and sign-out ending the session, and redirects that stay on the console."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from audit.entries import EntryType
from gateway.api.clients import revoke_client
from gateway.console.deps import set_cookie
from gateway.console.signin import safe_next
from tests.helpers.console import Seeded, csrf_of, post_form, signed_in


def denied(world: Seeded) -> list[tuple[str | None, str | None]]:
    return [
        (e.reason, e.client)
        for e in world.gw.log_entries()
        if e.event_type is EntryType.ACCESS and e.outcome == "denied"
    ]


def sign_in(client: httpx.Client, token: str) -> httpx.Response:
    form = client.get("/console/sign-in")
    return client.post("/console/sign-in", data={"csrf": csrf_of(form.text), "token": token})


def test_a_person_signs_in_to_a_server_side_session(world: Seeded) -> None:
    with httpx.Client(base_url=world.gw.base_url) as client:
        answer = sign_in(client, world.gw.tokens["privacy_officer"])
        assert answer.status_code == 303 and answer.headers["location"] == "/console"
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("helhet_console=")
        )
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/console"} <= flags
        assert "secure" not in flags  # plain HTTP here; under TLS see the next test
        assert world.gw.tokens["privacy_officer"] not in cookie
        home = client.get("/console")
    assert home.status_code == 200 and "dpo" in home.text
    assert home.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]


def test_console_cookies_are_secure_under_tls() -> None:
    """Behind TLS (served by `helhet serve` or a proxy that says so) the cookie is Secure."""
    for scheme, secure in (("https", True), ("http", False)):
        scope = {"type": "http", "scheme": scheme, "server": ("console.example", 443)}
        request = Request({**scope, "headers": [], "path": "/console"})
        response = Response()
        set_cookie(request, response, "helhet_console", "id")
        cookie = response.headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure
        assert "httponly" in cookie and "samesite=strict" in cookie


def test_pages_send_a_person_without_a_session_to_sign_in(world: Seeded) -> None:
    with httpx.Client(base_url=world.gw.base_url) as client:
        answer = client.get("/console/disclosures")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/disclosures"
    assert ("no_session", "unknown") in denied(world)


def test_sign_in_without_the_forms_csrf_token_is_refused(world: Seeded) -> None:
    with httpx.Client(base_url=world.gw.base_url) as client:
        answer = client.post(
            "/console/sign-in", data={"csrf": "forged", "token": world.gw.tokens["coordinator"]}
        )
        assert answer.status_code == 403
        assert "helhet_console=" not in " ".join(answer.headers.get_list("set-cookie"))
        assert client.get("/console").status_code == 303


def test_unknown_and_agency_tokens_are_refused_and_logged(world: Seeded) -> None:
    with httpx.Client(base_url=world.gw.base_url) as client:
        unknown = sign_in(client, "hh_" + "x" * 43)
        agency = sign_in(client, world.gw.tokens["school"])
        assert client.get("/console").status_code == 303  # no session came of either
    assert unknown.status_code == 401 and agency.status_code == 403
    assert "fagsystem" in agency.text.lower()  # "Nøkler til fagsystemer …" (nb by default)
    assert ("unknown_token", "unknown") in denied(world)
    assert ("role", "school-system") in denied(world)


def test_sign_out_ends_the_session(world: Seeded) -> None:
    with signed_in(world.gw, "coordinator") as client:
        out = post_form(client, "/console", "/console/sign-out", {})
        assert out.status_code == 303
        assert client.get("/console").status_code == 303


def test_revoking_the_client_ends_its_sessions(world: Seeded) -> None:
    with signed_in(world.gw, "coordinator") as client:
        assert client.get("/console/families").status_code == 200
        with world.gw.engine.begin() as conn:
            revoke_client(conn, "coordinator", now=dt.datetime.now(dt.UTC))
        assert client.get("/console/families").status_code == 303


def test_a_form_posted_with_another_token_changes_nothing(world: Seeded) -> None:
    with signed_in(world.gw, "coordinator") as client:
        answer = client.post(
            f"/console/consents/{world.consent_id}/withdraw",
            data={"csrf": "not-this-sessions", "reason": "forged"},
        )
    assert answer.status_code == 403
    assert ("csrf", "coordinator") in denied(world)
    consents = [e for e in world.gw.log_entries() if e.event_type is EntryType.CONSENT]
    assert [e.outcome for e in consents] == ["recorded"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/console/families/abc", "/console/families/abc"),
        ("/console", "/console"),
        ("//evil.example/console", "/console"),
        ("/consolex", "/console"),
        ("https://evil.example/console", "/console"),
        ("/console/..//evil.example", "/console"),
        ("/console/sign-in", "/console"),
        (None, "/console"),
    ],
)
def test_after_sign_in_only_console_pages_are_followed(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected
