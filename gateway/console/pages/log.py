"""The log's status (size, latest checkpoint and its witnesses, the last verification) and
verifying the whole log now, with progress. Privacy officers and operators (policy.CHECK_LOG).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.responses import RedirectResponse, Response

from audit import log as audit_log
from audit.checkpoint import cosigners, latest_checkpoint
from audit.encoding import b64
from gateway.api import policy
from gateway.api.deps import InstanceDep
from gateway.console.deps import ConsoleDep, FormatterDep, FormDep, allowed, respond
from gateway.console.sessions import Session
from gateway.db.engine import reading

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Session, Depends(allowed(policy.CHECK_LOG))]


@router.get("/console/log")
def status(
    request: Request,
    fmt: FormatterDep,
    session: Auditor,
    console: ConsoleDep,
    instance: InstanceDep,
) -> Response:
    with reading(instance.engine) as conn:
        size = audit_log.tree_size(conn)
        latest = latest_checkpoint(conn)
        witnesses = cosigners(conn, latest) if latest is not None else []
    return respond(
        request,
        "log.html",
        fmt,
        session,
        size=size,
        checkpoint=latest,
        checkpoint_root=b64(latest.checkpoint.root) if latest else "",
        witnesses=witnesses,
        interval=instance.settings.checkpoint_interval_seconds,
        verification=console.verifier.current,
    )


@router.post("/console/log/verify")
def verify_now(session: Auditor, form: FormDep, console: ConsoleDep) -> Response:
    console.verifier.start(session.principal.name)
    return RedirectResponse("/console/log#verification", status_code=303)


@router.get("/console/log/verification")
def progress(session: Auditor, console: ConsoleDep) -> JSONResponse:
    """The run in progress (or the last one) for the status page's progress bar."""
    current = console.verifier.current
    return JSONResponse(
        current.as_dict() if current else {"running": False},
        headers={"Cache-Control": "no-store"},
    )
