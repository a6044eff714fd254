"""The log's integrity over HTTP: the latest signed checkpoint (public), consistency proofs
between tree sizes, and issuing a checkpoint on demand (privacy officer or operator).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from audit import log as audit_log
from audit.checkpoint import checkpoint_with_cosignatures, latest_checkpoint
from audit.encoding import b64
from audit.errors import AuditError
from gateway.api import access_log, policy
from gateway.api.access import allow, public
from gateway.api.clients import Principal
from gateway.api.deps import InstanceDep, ServicesDep, require_role
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem
from gateway.checkpoints.issuer import issue_now
from gateway.checkpoints.witnesses import publish
from gateway.db.engine import reading

router = APIRouter(prefix="/v1/log", tags=["log"])
Auditor = Annotated[Principal, Depends(require_role(*policy.CHECK_LOG))]

NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"
LOG_PROBLEM = problem_type("audit")
INVALID = problem_type("validation")
CONSISTENCY_ROUTE = "/v1/log/consistency"


@router.get("/checkpoint", response_class=PlainTextResponse)
@public()
def get_checkpoint(instance: InstanceDep) -> PlainTextResponse:
    """Public: the latest signed checkpoint (C2SP tlog-checkpoint note) with any witness
    cosignatures. It reveals only the log's size and root hash; anyone may keep copies.
    """
    with reading(instance.engine) as conn:
        latest = latest_checkpoint(conn)
        if latest is None:
            raise Problem(
                404, "No checkpoint yet", "no checkpoint has been issued yet", type_=LOG_PROBLEM
            )
        note = checkpoint_with_cosignatures(conn, latest)
    return PlainTextResponse(
        note, media_type=NOTE_MEDIA_TYPE, headers={"Cache-Control": "no-cache"}
    )


@router.post("/checkpoint", response_class=PlainTextResponse)
@allow(*policy.CHECK_LOG)
async def post_checkpoint(principal: Auditor, instance: InstanceDep) -> PlainTextResponse:
    """Sign a checkpoint of the log as it is now: 201 with the new note, or 200 with the
    latest one if the log has not grown; 409 if the log is not an extension of the last one.
    The checkpoint is then put to the witnesses and published.
    """
    try:
        stored, new = await run_in_threadpool(issue_now, instance)
    except AuditError as exc:
        raise Problem(exc.status_code, "Checkpoint refused", str(exc), type_=LOG_PROBLEM) from exc
    await run_in_threadpool(publish, instance, stored)  # problems show in /readyz next round
    return PlainTextResponse(
        stored.note,
        status_code=201 if new else 200,
        media_type=NOTE_MEDIA_TYPE,
        headers={"Checkpoint-Size": str(stored.checkpoint.size)},
    )


@router.get("/consistency")
@allow(*policy.CHECK_LOG)
def consistency(
    principal: Auditor,
    services: ServicesDep,
    old: Annotated[int, Query(ge=0, description="the older tree size")],
    new: Annotated[
        int | None, Query(ge=0, description="the newer tree size (default: latest checkpoint)")
    ] = None,
) -> JSONResponse:
    """RFC 9162 consistency proof that the tree of `old` entries is a prefix of that of `new`.

    Verify it against the roots of checkpoints you hold; the roots in the answer are the
    log's own claim.
    """
    with reading(services.engine) as conn:
        current = audit_log.tree_size(conn)
        if new is None:
            latest = latest_checkpoint(conn)
            new = latest.checkpoint.size if latest is not None else current
        if new > current:
            raise Problem(
                422,
                "Invalid request",
                f"new ({new}) is beyond the log's size ({current})",
                pointer="query:new",
                type_=INVALID,
            )
        if old > new:
            raise Problem(
                422,
                "Invalid request",
                f"old ({old}) must not exceed new ({new})",
                pointer="query:old",
                type_=INVALID,
            )
        proof = audit_log.consistency_proof(conn, old, new)
        old_root = audit_log.root(conn, old)
        new_root = audit_log.root(conn, new)
    access_log.record_read(
        services.engine,
        client=principal.name,
        read=CONSISTENCY_ROUTE,
        details={"old": old, "new": new},
    )
    return JSONResponse({**proof.as_dict(), "old_root": b64(old_root), "new_root": b64(new_root)})
