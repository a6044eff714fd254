"""Serving the app with uvicorn: in this thread for `helhet serve`, or in a background thread
for the demo, the benchmarks and the tests (`running_server`). `helhet serve --workers N`
(PostgreSQL only) runs N intake worker processes on one port, and the relay, checkpoints and
plan sweep once, in the parent process.
"""

from __future__ import annotations

import logging
import os
import signal
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from gateway.api.app import create_app
from gateway.checkpoints import rollback
from gateway.config.instance import Instance, open_instance
from gateway.config.settings import CONFIG_ENV, load_settings
from gateway.db import migrate
from gateway.db.engine import is_sqlite
from gateway.errors import GatewayError
from gateway.kafka.broker import free_port

log = logging.getLogger("helhet.serve")


@contextmanager
def running_server(
    app: FastAPI, *, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[str]:
    """Serve `app` on host:port (a free port if None) until the block ends; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="helhet-http")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HTTP server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _stopping_is_not_failing() -> None:
    """uvicorn shuts down cleanly on SIGTERM or SIGINT and then raises the same signal again
    for the handler it found; Python's default for SIGTERM ends the process with -15, which a
    supervisor (systemd, Kubernetes) reads as a failure. With these handlers in place the
    re-raised signal is noted and `helhet serve` returns: exit code 0."""

    def stopped(signum: int, _frame: object) -> None:
        log.info("stopped by %s after a clean shutdown", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)


class WorkersNeedPostgres(GatewayError):
    """More than one intake worker was asked for on a SQLite database."""


def check_workers(instance: Instance, workers: int) -> None:
    """Refuse a worker count the instance cannot use (SQLite: one process writes at a time)."""
    if workers < 1:
        raise WorkersNeedPostgres("--workers must be 1 or more")
    if workers > 1 and is_sqlite(instance.engine):
        raise WorkersNeedPostgres(
            f"--workers {workers} needs PostgreSQL: a SQLite database has one writer at a time, "
            "so more processes would only wait for each other. Serve with one worker, or set "
            "database_url to a PostgreSQL database."
        )
    if workers > 1 and instance.settings.config_file is None:
        raise WorkersNeedPostgres(
            f"--workers {workers} needs a configuration file (--config or {CONFIG_ENV}): "
            "each worker process reads it"
        )


def worker_app() -> FastAPI:
    """The app of one intake worker of `helhet serve --workers N` (a uvicorn factory, run in
    each worker process): the instance of the parent's configuration file, without the relay,
    checkpoints or plan sweep, which the parent runs once."""
    instance = open_instance(load_settings())  # the parent set the configuration file
    return create_app(instance, relay=False, background=False)


def serve(
    instance: Instance, *, host: str | None = None, port: int | None = None, workers: int = 1
) -> None:
    """`helhet serve`: the app under uvicorn in this thread until stopped, with TLS (and mutual
    TLS) when the settings name the files; refuses a database that is not migrated, key or
    database files that others may read, and a log rolled back behind a published checkpoint.
    SIGTERM and SIGINT shut it down cleanly (the relay drains first) and it returns (exit 0).

    With `workers` > 1 (PostgreSQL only) uvicorn runs that many worker processes on one port,
    each with the API only; this process runs the relay, checkpoints and plan sweep."""
    settings = instance.settings
    check_workers(instance, workers)
    migrate.check_current(instance.engine)
    instance.check_private_files()
    rollback.check_not_rolled_back(instance)
    tls: dict[str, object] = {}
    if settings.tls_certfile is not None:
        tls = {"ssl_certfile": str(settings.tls_certfile), "ssl_keyfile": str(settings.tls_keyfile)}
        if settings.tls_client_ca_file is not None:  # mutual TLS: a client certificate is required
            tls |= {
                "ssl_ca_certs": str(settings.tls_client_ca_file),
                "ssl_cert_reqs": ssl.CERT_REQUIRED,
            }
    _stopping_is_not_failing()
    common: dict[str, object] = {
        "host": host or settings.http_host,
        "port": settings.http_port if port is None else port,
        "log_level": "info",
        "access_log": False,  # request paths may name a person (subject reports): never log them
        **tls,
    }
    if workers == 1:
        uvicorn.run(create_app(instance), **common)  # type: ignore[arg-type]
        return
    os.environ[CONFIG_ENV] = str(settings.config_file)  # for the worker processes
    with _background(instance):
        uvicorn.run(
            "gateway.api.server:worker_app",
            factory=True,
            workers=workers,
            **common,  # type: ignore[arg-type]
        )


@contextmanager
def _background(instance: Instance) -> Iterator[None]:
    """The relay (when enabled), checkpoints and plan sweep of a multi-worker `serve`."""
    from gateway.checkpoints.issuer import CheckpointThread
    from gateway.delivery.relay import Relay, RelayThread
    from gateway.intake.services import Services
    from gateway.kafka.publisher import KafkaPublisher
    from gateway.plan.lifecycle import SweepThread

    settings = instance.settings
    services = Services(instance)
    services.load()
    relay_thread = None
    if settings.relay_enabled:
        relay_thread = RelayThread(
            Relay(
                services,
                KafkaPublisher(
                    settings.kafka_bootstrap_servers,
                    request_timeout_ms=settings.kafka_request_timeout_ms,
                ),
            )
        )
        relay_thread.start()
    checkpointer = CheckpointThread(instance)
    checkpointer.start()
    interval = settings.plan_sweep_interval_seconds
    sweeper = SweepThread(services, interval) if interval else None
    if sweeper is not None:
        sweeper.start()
    log.info(
        "relay %s, checkpoints and plan sweep in this process (%d)",
        "running" if relay_thread else "off",
        os.getpid(),
    )
    try:
        yield
    finally:
        if sweeper is not None:
            sweeper.stop()
        checkpointer.stop()
        if relay_thread is not None:
            relay_thread.stop()
