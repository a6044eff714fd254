"""Serving the app with uvicorn: in this thread for `helhet serve`, or in a background thread
for the demo, the benchmarks and the tests (`running_server`).
"""

from __future__ import annotations

import logging
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
from gateway.config.instance import Instance
from gateway.db import migrate
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


def serve(instance: Instance, *, host: str | None = None, port: int | None = None) -> None:
    """`helhet serve`: the app under uvicorn in this thread until stopped, with TLS (and mutual
    TLS) when the settings name the files; refuses a database that is not migrated, key or
    database files that others may read, and a log rolled back behind a published checkpoint.
    SIGTERM and SIGINT shut it down cleanly (the relay drains first) and it returns (exit 0)."""
    settings = instance.settings
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
    uvicorn.run(
        create_app(instance),
        host=host or settings.http_host,
        port=settings.http_port if port is None else port,
        log_level="info",
        access_log=False,  # request paths may name a person (subject reports): never log them
        **tls,  # type: ignore[arg-type]
    )
