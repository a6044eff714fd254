"""Who may call each route, declared next to the route: `@public()` or `@allow(role, …)` under
the router's decorator. The request guard reads it; the authorization matrix tests it.

A route without a declaration is treated as protected (a bearer token is required) and fails
tests/gateway/api/test_authorization_matrix.py until it gets one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from gateway.api.clients import Role

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__helhet_access__"


@dataclass(frozen=True)
class Access:
    """A route's declared access: public, or the roles admitted (others get 403).

    `agency_path` names the path parameter an agency client is bound to (its own agency, else
    403); `large_body` gives the route the records' body limit (`max_body_bytes`) instead of
    `max_request_bytes`.
    """

    roles: frozenset[Role]
    public: bool = False
    agency_path: str | None = None
    large_body: bool = False
    session: bool = False  # a web console page: it checks its own session, CSRF and role

    def admits(self, role: Role) -> bool:
        return self.public or role in self.roles


def _declare(access: Access) -> Callable[[F], F]:
    def mark(endpoint: F) -> F:
        setattr(endpoint, ATTRIBUTE, access)
        return endpoint

    return mark


def public() -> Callable[[F], F]:
    """Anyone, without a token (health, the signing keys, the latest checkpoint)."""
    return _declare(Access(frozenset(), public=True))


def allow(
    *roles: Role | str, agency_path: str | None = None, large_body: bool = False
) -> Callable[[F], F]:
    """Callers with a token holding one of `roles`; everyone else is refused (401/403)."""
    if not roles:
        raise ValueError("allow() needs at least one role; use public() for open routes")
    return _declare(
        Access(frozenset(Role(r) for r in roles), agency_path=agency_path, large_body=large_body)
    )


def mark(route: BaseRoute, access: Access) -> None:
    """Declare a route that has no endpoint function of its own (a Mount, say)."""
    setattr(route, ATTRIBUTE, access)


PUBLIC = Access(frozenset(), public=True)
# The web console's pages: the guard asks no bearer token of them; each page checks the
# signed-in person's session, its CSRF token and the role policy itself (gateway.console).
SESSION = Access(frozenset(), public=True, session=True)


def routes(app: Any) -> Iterator[RouteContext]:
    """Every route the app serves, with included routers' prefixes applied."""
    return iter_route_contexts(app.routes)


def declared(route: RouteContext, framework_public: Iterable[str] = ()) -> Access | None:
    """The route's declaration; FastAPI's own documentation routes (`framework_public`
    paths) are public. None where nothing is declared."""
    original = route.original_route
    found = getattr(original, ATTRIBUTE, None) or getattr(
        getattr(original, "endpoint", None), ATTRIBUTE, None
    )
    if isinstance(found, Access):
        return found
    if route.path in set(framework_public):
        return PUBLIC
    return None


def matching_route(app: Any, scope: Scope) -> RouteContext | None:
    """The route that fully matches the request (path and method), as the router will pick."""
    for route in routes(app):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


def framework_paths(app: Any) -> list[str]:
    """The paths FastAPI serves itself: the OpenAPI document and its two viewers."""
    paths = [app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url]
    return [p for p in paths if p]
