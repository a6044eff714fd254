"""Putting the console on the API's app: its state, the sign-in method's pages, one router per
resource, the static files from this package, and HTML pages for the console's errors.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from gateway.api.access import PUBLIC, SESSION, mark, routes
from gateway.console.deps import formatter_for, respond
from gateway.console.pages import consents, disclosures, families, home, log, plan, reports
from gateway.console.sessions import SessionStore
from gateway.console.signin import TokenSignIn, sign_in_url
from gateway.console.state import Console
from gateway.console.verification import Verifier
from gateway.errors import ConsoleError, SignInRequired
from gateway.intake.services import Services

STATIC = "/console/static"


def install_console(app: FastAPI, services: Services) -> Console:
    settings = services.settings
    console = Console(
        services=services,
        sessions=SessionStore(
            idle_s=settings.console_idle_minutes * 60.0,
            max_s=settings.console_session_hours * 3600.0,
        ),
        sign_in=TokenSignIn(),
        verifier=Verifier(services.instance),
    )
    app.state.console = console
    app.mount(
        STATIC,
        StaticFiles(packages=[("gateway.console", "static")]),
        name="console-static",
    )
    app.include_router(console.sign_in.router())
    for module in (home, disclosures, reports, log, families, consents, plan):
        app.include_router(module.router)

    async def on_console_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleError)
        if isinstance(exc, SignInRequired):
            target = request.url.path if request.method == "GET" else "/console"
            return RedirectResponse(sign_in_url(target), status_code=303)
        session = console.sessions.get(request.cookies.get("helhet_console"))
        return respond(
            request,
            "error.html",
            formatter_for(request),
            session,
            status=exc.status,
            status_code=exc.status,
            detail=str(exc),
        )

    app.add_exception_handler(ConsoleError, on_console_error)
    for route in routes(app):  # pages check their session themselves; the assets are public
        if route.path == STATIC:
            mark(route.original_route, PUBLIC)
        elif route.path is not None and route.path.startswith("/console"):
            mark(route.original_route, SESSION)
    return console
