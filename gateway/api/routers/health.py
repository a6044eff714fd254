"""Liveness and readiness: /healthz answers while the process runs; /readyz when it can work."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.api.access import public
from gateway.api.deps import InstanceDep
from gateway.db import migrate

router = APIRouter(tags=["health"])


@router.get("/healthz")
@public()
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
@public()
def readyz(instance: InstanceDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    ready = True
    try:
        migrate.check_current(instance.engine)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"not ready: {exc}"
        ready = False
    for name, probe in instance.readiness_probes.items():
        ok, detail = probe()
        checks[name] = "ok" if ok else f"not ready: {detail}"
        ready = ready and ok
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )
