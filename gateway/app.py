"""The FastAPI application: routers, problem+json handlers, start-up checks and background work.

`create_app(instance)` is what `helhet serve` runs under uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import migrate, problems
from gateway.context import Instance
from gateway.routers import health

API_DESCRIPTION = (
    "Interagency data exchange for one family plan: agencies post records in their native "
    "formats; helhet forwards to each team agency only what recorded consent permits, sealed "
    "for that agency, and logs every disclosure and refusal."
)


def create_app(instance: Instance) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate.check_current(instance.engine)
        yield

    app = FastAPI(
        title=f"helhet — {instance.settings.municipality_name or instance.settings.municipality}",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.instance = instance
    problems.install(app)
    app.include_router(health.router)
    return app
