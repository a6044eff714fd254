"""The authorization matrix, generated from the app's own routes: every route × every agency,
the coordinator, the privacy officer, the operator, no token and a bad token, against the
access declared next to the route (gateway.api.access). A route without a declaration fails
here; so does one whose answer differs from its declaration."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx

from gateway.api.access import Access, declared, framework_paths, routes
from gateway.api.clients import Role
from schemas import Agency
from tests.helpers.gateway import Gateway

AGENCIES = [a.value for a in Agency]
CALLERS = [*AGENCIES, "coordinator", "privacy_officer", "operator", "no token", "bad token"]
BAD_TOKEN = "hh_" + "x" * 43
REFUSED = (401, 403)


def _role(caller: str) -> Role:
    return Role.AGENCY if caller in AGENCIES else Role(caller)


def _endpoints(app: object) -> Iterator[tuple[str, str, Access | None]]:
    for route in routes(app):
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            yield method, str(route.path), declared(route, framework_paths(app))


def _paths(path: str, access: Access, caller: str, person: str) -> list[tuple[str, bool]]:
    """(concrete path, whether the caller should be admitted) for the caller: an agency bound
    to a path parameter is tried with its own agency and with another one."""
    values = {
        "family_id": "f-unknown",
        "consent_id": "c-unknown",
        "entry_id": "e-unknown",
        "index": "0",
        "person": person,
        "name": "validation",
        "key": "k-unknown",
    }
    admitted = caller not in ("no token", "bad token") and access.admits(_role(caller))
    if access.public:
        admitted = True
    tries: list[tuple[dict[str, str], bool]] = [({}, admitted)]
    if access.agency_path is not None:
        own = caller if caller in AGENCIES else "nav"
        other = "school" if own != "school" else "nav"
        tries = [({access.agency_path: own}, admitted)]
        if caller in AGENCIES:
            tries.append(({access.agency_path: other}, False))
    out = []
    for extra, expected in tries:
        given = {**values, **extra}
        concrete = path
        for name, value in given.items():
            concrete = concrete.replace("{" + name + "}", value)
        assert not re.search(r"\{\w+\}", concrete), f"no test value for a parameter of {path}"
        out.append((concrete, expected))
    return out


def _expected_ok(status: int, admitted: bool, public: bool, caller: str) -> bool:
    if public:
        return status not in REFUSED
    if caller in ("no token", "bad token"):
        return status == 401
    return status not in REFUSED if admitted else status == 403


def test_every_route_declares_its_access(api: Gateway) -> None:
    undeclared = [f"{m} {p}" for m, p, access in _endpoints(api.app) if access is None]
    assert undeclared == [], (
        "declare who may call these routes with @public() or @allow(...) from "
        "gateway.api.access (docs/security.md)"
    )


def test_the_matrix(api: Gateway) -> None:
    person, _ = api.person(12)
    mismatches: list[str] = []
    checked = 0
    for method, path, access in _endpoints(api.app):
        assert access is not None
        if access.session:
            continue  # console pages: sessions, CSRF and roles, tests/gateway/console
        for caller in CALLERS:
            headers = {}
            if caller == "bad token":
                headers["Authorization"] = f"Bearer {BAD_TOKEN}"
            elif caller != "no token":
                headers["Authorization"] = f"Bearer {api.tokens[caller]}"
            for concrete, admitted in _paths(path, access, caller, person):
                with httpx.Client(base_url=api.base_url, headers=headers, timeout=30) as c:
                    response = c.request(
                        method,
                        concrete,
                        json={} if method in ("POST", "PATCH", "PUT") else None,
                    )
                checked += 1
                if response.status_code >= 500 or not _expected_ok(
                    response.status_code, admitted, access.public, caller
                ):
                    mismatches.append(
                        f"{method} {concrete} as {caller}: {response.status_code} "
                        f"(declared {'public' if access.public else sorted(access.roles)})"
                    )
                if response.status_code in REFUSED:
                    assert response.headers["content-type"] == "application/problem+json"
    assert mismatches == []
    assert checked >= len(CALLERS) * 20


def test_an_undeclared_route_is_protected(api: Gateway) -> None:
    """A route added without a declaration still needs a token (the guard's default)."""

    @api.app.get("/v1/probe-undeclared")
    def probe() -> dict[str, str]:
        return {"ok": "yes"}

    assert httpx.get(api.base_url + "/v1/probe-undeclared").status_code == 401
    with api.client("operator") as c:
        assert c.get("/v1/probe-undeclared").status_code == 200


def test_the_public_routes_are_the_expected_ones(api: Gateway) -> None:
    public = {
        p
        for m, p, access in _endpoints(api.app)
        if access is not None and access.public and not access.session
    }
    assert public == {
        "/healthz",
        "/readyz",
        "/v1/keys",
        "/v1/log/checkpoint",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/docs-assets",  # the documentation's scripts and styles, from the package
        "/problems",
        "/problems/{name}",
        "/console/static",  # the console's scripts, styles and images
    }


def test_console_pages_never_admit_a_bearer_token(api: Gateway) -> None:
    """The console's pages answer only a signed-in session: a bearer token (a coordinator's)
    on a page without a session cookie gets the sign-in redirect, never the page."""
    person, _ = api.person(13)
    pages = [
        (method, path)
        for method, path, access in _endpoints(api.app)
        if access is not None
        and access.session
        and method == "GET"
        and "sign-in" not in path
        and "signin" not in path
    ]
    assert pages, "no console pages found"
    with httpx.Client(
        base_url=api.base_url,
        headers={"Authorization": f"Bearer {api.tokens['coordinator']}"},
        timeout=30,
        follow_redirects=False,
    ) as c:
        for method, path in pages:
            for concrete, _ in _paths(
                path, Access(frozenset(), public=True), "coordinator", person
            ):
                response = c.request(method, concrete)
                assert response.status_code == 303, (concrete, response.status_code)
                assert "/console/sign-in" in response.headers["location"], concrete
