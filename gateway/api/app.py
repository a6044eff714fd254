"""The FastAPI application: routers, problem+json handlers, start-up checks and the relay.

`create_app(instance)` is what `helhet serve` runs under uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api import problems
from gateway.api.metrics import Metrics
from gateway.api.ratelimit import RateLimiter
from gateway.api.routers import (
    consents,
    decisions,
    disclosures,
    families,
    health,
    keys,
    legal_bases,
    metrics,
    records,
)
from gateway.api.routers import log as log_routes
from gateway.checkpoints.issuer import CheckpointThread
from gateway.config.instance import Instance
from gateway.console.mount import install_console
from gateway.db import migrate
from gateway.intake.services import Services

API_DESCRIPTION = (
    "Interagency data exchange for one family plan: agencies post records in their native "
    "formats; helhet forwards to each team agency only what recorded consent permits, sealed "
    "for that agency, and logs every disclosure and refusal."
)


def create_app(instance: Instance, *, relay: bool | None = None) -> FastAPI:
    """The app; with `relay` (default: the relay_enabled setting) the outbox relay runs inside."""
    services = Services(instance)
    run_relay = instance.settings.relay_enabled if relay is None else relay

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate.check_current(instance.engine)
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
            instance.readiness_probes["relay"] = lambda: (
                relay_thread.relay.last_error is None,
                relay_thread.relay.last_error or "",
            )
            relay_thread.start()
        checkpointer = CheckpointThread(instance)
        app.state.checkpointer = checkpointer
        instance.readiness_probes["checkpoints"] = lambda: (
            checkpointer.last_error is None,
            checkpointer.last_error or "",
        )
        checkpointer.start()
        try:
            yield
        finally:
            checkpointer.stop()
            if relay_thread is not None:
                relay_thread.stop()

    app = FastAPI(
        title=f"helhet — {instance.settings.municipality_name or instance.settings.municipality}",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.instance = instance
    app.state.services = services
    app.state.metrics = Metrics()
    app.state.rate_limiter = RateLimiter(instance.settings.rate_limit_per_minute)
    problems.install(app)
    for router in (
        health.router,
        keys.router,
        families.router,
        records.router,
        consents.router,
        decisions.router,
        legal_bases.router,
        disclosures.router,
        log_routes.router,
        metrics.router,
    ):
        app.include_router(router)
    install_console(app, services)
    return app
