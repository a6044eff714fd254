"""The console's FastAPI wiring: its state, the reader's language, the session behind the
cookie, the API's role policy applied to pages (`allowed`), CSRF-checked forms and responses.

Roles are decided by `gateway.api.deps.authorize` over the sets in `gateway.api.policy`, the
same as for the API; a refusal is logged there and shown here as an HTML page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from starlette.responses import HTMLResponse, Response

from gateway.api import access_log, policy
from gateway.api.clients import Role
from gateway.api.deps import EngineDep, authorize
from gateway.api.problems import Problem
from gateway.console.i18n import Formatter, default_language, parse_language
from gateway.console.sessions import COOKIE, Session
from gateway.console.state import Console
from gateway.console.templating import SECURITY_HEADERS, render
from gateway.errors import ConsoleForbidden, SignInRequired

LANGUAGE_COOKIE = "helhet_lang"
ONE_YEAR = 365 * 24 * 3600


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]


def formatter_for(request: Request) -> Formatter:
    """The reader's language: `?lang=` if given, else their cookie, else the instance's."""
    jurisdiction = request.app.state.services.settings.jurisdiction
    language = (
        parse_language(request.query_params.get("lang"))
        or parse_language(request.cookies.get(LANGUAGE_COOKIE))
        or default_language(jurisdiction)
    )
    return Formatter(language, jurisdiction)


def get_formatter(request: Request) -> Formatter:
    return formatter_for(request)


FormatterDep = Annotated[Formatter, Depends(get_formatter)]


def current_session(request: Request, console: ConsoleDep, engine: EngineDep) -> Session | None:
    """The live session of the cookie; ended if its person's client has been revoked."""
    session = console.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return None
    principal = console.sign_in.still_valid(engine, session.principal)
    if principal is None:
        console.sessions.close(session.id)
        return None
    session.principal = principal
    return session


def signed_in(
    request: Request,
    session: Annotated[Session | None, Depends(current_session)],
    engine: EngineDep,
) -> Session:
    if session is None:
        access_log.record_denied(engine, request, status=401, reason="no_session")
        raise SignInRequired(request.url.path)
    return session


SessionDep = Annotated[Session, Depends(signed_in)]


def allowed(roles: frozenset[Role]) -> Callable[..., Session]:
    """A page dependency: a session whose role is in `roles` (a `gateway.api.policy` set)."""

    def check(session: SessionDep, request: Request, engine: EngineDep) -> Session:
        try:
            authorize(session.principal, roles, request, engine)
        except Problem as exc:
            raise ConsoleForbidden(exc.detail or exc.title) from exc
        return session

    return check


class Form:
    """A submitted form's fields (several values per name where checkboxes repeat)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]


def checked_form() -> Callable[..., Coroutine[Any, Any, Form]]:
    async def read(request: Request, session: SessionDep, engine: EngineDep) -> Form:
        data = await request.form()
        fields: dict[str, list[str]] = {}
        for key, value in data.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
        form = Form(fields)
        if not session.csrf_matches(form.get("csrf") or None):
            access_log.record_denied(
                engine,
                request,
                status=403,
                reason="csrf",
                client=session.principal.name,
                role=session.principal.role.value,
            )
            raise ConsoleForbidden("the form's CSRF token does not match this session")
        return form

    return read


FormDep = Annotated[Form, Depends(checked_form())]


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, path: str = "/console"
) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure under TLS, for the session only."""
    response.set_cookie(
        name, value, path=path, httponly=True, samesite="strict", secure=secure(request)
    )


def permissions(session: Session | None) -> dict[str, bool]:
    """Which parts of the console the session's role may use (for the navigation), by policy."""
    role = session.principal.role if session else None
    return {
        "read_log": role in policy.READ_LOG,
        "check_log": role in policy.CHECK_LOG,
        "manage_families": role in policy.MANAGE_FAMILIES,
        "record_consent": role in policy.RECORD_CONSENT,
        "read_consent": role in policy.READ_CONSENT,
    }


def language_links(request: Request, get_path: str | None = None) -> dict[str, str]:
    """This page in each language: the same GET (a page answering a form links to `get_path`)."""
    if request.method == "GET":
        path, params = request.url.path, dict(request.query_params)
    else:
        path, params = get_path or "/console", {}
    return {code: f"{path}?{urlencode({**params, 'lang': code})}" for code in ("nb", "da", "en")}


def respond(
    request: Request,
    template: str,
    fmt: Formatter,
    session: Session | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page: the template with the session's CSRF token, messages and the language links."""
    settings = request.app.state.services.settings
    html = render(
        template,
        fmt,
        session=session,
        instance_name=settings.municipality_name or settings.municipality,
        can=permissions(session),
        csrf=session.csrf if session else context.pop("csrf", ""),
        flash=session.take_flash() if session else [],
        path=request.url.path,
        language_links=language_links(request, context.pop("get_path", None)),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    chosen = parse_language(request.query_params.get("lang"))
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            path="/console",
            max_age=ONE_YEAR,
            samesite="strict",
            secure=secure(request),
            httponly=True,
        )
    return response
