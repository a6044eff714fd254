"""The FastAPI application: routers, problem+json handlers, start-up checks and the relay.

`create_app(instance)` is what `helhet serve` runs under uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from gateway.api import access, openapi, problems, startup
from gateway.api.guard import RequestGuard
from gateway.api.metrics import Metrics
from gateway.api.ratelimit import RateLimiter
from gateway.api.refusals import RefusalLog
from gateway.api.routers import (
    consents,
    decisions,
    disclosures,
    families,
    health,
    keys,
    legal_bases,
    metrics,
    plans,
    records,
)
from gateway.api.routers import log as log_routes
from gateway.api.routers import problems as problem_routes
from gateway.checkpoints import rollback
from gateway.checkpoints.issuer import CheckpointThread
from gateway.config.instance import Instance
from gateway.console.mount import install_console
from gateway.db import migrate
from gateway.intake.services import Services
from gateway.plan.lifecycle import SweepThread

DOCS_ASSETS = "/docs-assets"
DOCS_PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc")
API_DESCRIPTION = (
    "Interagency data exchange for one family plan: agencies post records in their native "
    "formats; helhet forwards to each team agency only what recorded consent permits, sealed "
    "for that agency, and logs every disclosure and refusal."
)


def create_app(
    instance: Instance, *, relay: bool | None = None, background: bool = True
) -> FastAPI:
    """The app; with `relay` (default: the relay_enabled setting) the outbox relay runs inside,
    and with `background` the checkpoint and plan-sweep threads (an intake worker of
    `helhet serve --workers N` has neither: its parent process runs them once)."""
    services = Services(instance)
    run_relay = instance.settings.relay_enabled if relay is None else relay

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate.check_current(instance.engine)
        instance.check_private_files()
        rollback.check_not_rolled_back(instance)
        services.load()
        relay_thread = None
        if run_relay:
            from gateway.delivery.relay import Relay, RelayThread
            from gateway.kafka.publisher import KafkaPublisher

            relay_thread = RelayThread(
                Relay(
                    services,
                    KafkaPublisher(
                        instance.settings.kafka_bootstrap_servers,
                        request_timeout_ms=instance.settings.kafka_request_timeout_ms,
                    ),
                )
            )
            app.state.relay = relay_thread.relay
            instance.readiness_probes["relay"] = relay_thread.relay.readiness
            relay_thread.start()
        checkpointer = CheckpointThread(instance) if background else None
        if checkpointer is not None:
            app.state.checkpointer = checkpointer
            instance.readiness_probes["checkpoints"] = lambda: (
                checkpointer.last_error is None,
                checkpointer.last_error or "",
            )
            instance.readiness_probes["witnesses"] = lambda: (
                checkpointer.witness_error is None,
                checkpointer.witness_error or "",
            )
            checkpointer.start()
            startup.report(instance, version=app.version, relay=run_relay)
        app.state.refusals.start()
        interval = instance.settings.plan_sweep_interval_seconds
        sweeper = SweepThread(services, interval) if interval and background else None
        if sweeper is not None:
            sweeper.start()
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stop()
            app.state.refusals.stop()
            if checkpointer is not None:
                checkpointer.stop()
            if relay_thread is not None:
                relay_thread.stop()

    # The API documentation's scripts and styles come from the package, never from a CDN.
    app = FastAPIOffline(
        title=f"helhet — {instance.settings.municipality_name or instance.settings.municipality}",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    for route in app.routes:  # the documentation pages and their assets: public
        if getattr(route, "path", None) in (*DOCS_PAGES, DOCS_ASSETS):
            access.mark(route, access.PUBLIC)
    app.state.instance = instance
    app.state.services = services
    app.state.metrics = Metrics()
    app.state.rate_limiter = RateLimiter(instance.settings.rate_limit_per_minute)
    app.state.address_limiter = RateLimiter(instance.settings.rate_limit_per_address_per_minute)
    app.state.refusals = RefusalLog(
        instance.engine, float(instance.settings.refusal_log_window_seconds)
    )
    problems.install(app)
    openapi.install(app)  # the bearer scheme, refusals as problem+json, record examples
    app.add_middleware(RequestGuard)  # token and body limit before any body is read
    for router in (
        health.router,
        keys.router,
        families.router,
        records.router,
        plans.router,
        consents.router,
        decisions.router,
        legal_bases.router,
        disclosures.router,
        log_routes.router,
        metrics.router,
        problem_routes.router,
    ):
        app.include_router(router)
    install_console(app, services)
    return app
