"""The console's start page (what the signed-in role can do) and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from gateway.api import policy
from gateway.console.deps import ConsoleDep, FormatterDep, FormDep, allowed, respond
from gateway.console.sessions import COOKIE, Session

router = APIRouter(include_in_schema=False)
Person = Annotated[Session, Depends(allowed(policy.USE_CONSOLE))]


@router.get("/console")
def start(request: Request, fmt: FormatterDep, session: Person) -> Response:
    return respond(request, "home.html", fmt, session)


@router.post("/console/sign-out")
def sign_out(session: Person, form: FormDep, console: ConsoleDep) -> Response:
    console.sessions.close(session.id)
    response = RedirectResponse("/console/sign-in?ended=signed-out", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
