"""Signing in with one's own client token (`helhet clients add`, one per person), and the one
function every sign-in method ends in: `start_session`.

An OpenID Connect method against the municipality's identity provider would be a second
`SignInMethod` (gateway/console/state.py): a redirect and a callback that find the person's
client and call `start_session`. No page changes.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from gateway.api import access_log, policy
from gateway.api.clients import Principal, active_principal, authenticate
from gateway.api.deps import EngineDep, authorize
from gateway.api.problems import Problem
from gateway.console.deps import ConsoleDep, FormatterDep, respond, set_cookie
from gateway.console.i18n import Formatter
from gateway.console.sessions import COOKIE
from gateway.db.engine import reading

SIGN_IN_PATH = "/console/sign-in"
SIGN_IN_CSRF_COOKIE = "helhet_console_sign_in"
MAX_TOKEN_CHARS = 200


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if (
        value
        and (value == "/console" or value.startswith("/console/"))
        and not value.startswith("/console/sign-")
        and "\\" not in value
        and "//" not in value
    ):
        return value
    return "/console"


def sign_in_url(path: str) -> str:
    return f"{SIGN_IN_PATH}?next={quote(safe_next(path), safe='/')}"


def start_session(
    request: Request, console: ConsoleDep, principal: Principal, next_path: str | None
) -> Response:
    """Open a session for an authenticated person and send them on (303)."""
    session = console.sessions.open(principal)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_cookie(request, response, COOKIE, session.id)
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path=SIGN_IN_PATH)
    return response


def _form(
    request: Request,
    fmt: Formatter,
    *,
    next_path: str,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """The sign-in page with a fresh pre-session CSRF token (cookie + hidden field)."""
    token = secrets.token_urlsafe(32)
    response = respond(
        request,
        "sign_in.html",
        fmt,
        None,
        status=status,
        csrf=token,
        get_path=SIGN_IN_PATH,
        next_path=next_path,
        error=error,
        notice=notice,
    )
    set_cookie(request, response, SIGN_IN_CSRF_COOKIE, token, path=SIGN_IN_PATH)
    return response


def _authenticate(engine: sa.Engine, token: str) -> Principal | None:
    with reading(engine) as conn:
        return authenticate(conn, token)


class TokenSignIn:
    """A person pastes their own token once; it becomes a server-side session."""

    name = "token"

    def still_valid(self, engine: sa.Engine, principal: Principal) -> Principal | None:
        with reading(engine) as conn:
            return active_principal(conn, principal.client_id)

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        @router.get(SIGN_IN_PATH)
        def sign_in_page(
            request: Request, fmt: FormatterDep, next: str | None = None, ended: str | None = None
        ) -> Response:
            notice = fmt.gettext("You have signed out.") if ended == "signed-out" else None
            return _form(request, fmt, next_path=safe_next(next), notice=notice)

        @router.post(SIGN_IN_PATH)
        async def sign_in(
            request: Request, fmt: FormatterDep, engine: EngineDep, console: ConsoleDep
        ) -> Response:
            data = await request.form()
            next_path = safe_next(str(data.get("next") or ""))
            expected = request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
            if not expected or not hmac.compare_digest(expected, str(data.get("csrf") or "")):
                message = fmt.gettext("The form had expired. Please sign in again.")
                return _form(request, fmt, next_path=next_path, error=message, status=403)
            token = str(data.get("token") or "").strip()[:MAX_TOKEN_CHARS]
            principal = await run_in_threadpool(_authenticate, engine, token)
            if principal is None:
                await run_in_threadpool(
                    access_log.record_denied, engine, request, status=401, reason="unknown_token"
                )
                message = fmt.gettext("That token is unknown or has been revoked.")
                return _form(request, fmt, next_path=next_path, error=message, status=401)
            try:
                await run_in_threadpool(authorize, principal, policy.USE_CONSOLE, request, engine)
            except Problem:  # logged by authorize, as the API's refusals are
                message = fmt.gettext(
                    "Agency system tokens cannot sign in to the console. "
                    "Sign in with your own personal token."
                )
                return _form(request, fmt, next_path=next_path, error=message, status=403)
            return start_session(request, console, principal, next_path)

        return router
