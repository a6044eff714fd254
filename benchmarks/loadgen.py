"""The gateway benchmark's load generator, run in its own process: keep-alive HTTP clients in
threads posting native bodies to /v1/records/{agency}, as fast as answered or paced at a fixed
rate of records per second (open loop: a late answer does not delay the next request).

    python benchmarks/loadgen.py SPEC.json OUT.json

SPEC: {"base": url, "tokens": {agency: token}, "bodies": [Body.as_json()], "clients": n,
"rate": records per second or null}. OUT: {"requests": [{"start", "end", "status",
"record_id", "records"}]} with wall-clock times (time.time(), the server's clock too).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx


def run(spec: dict[str, Any]) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = spec["bodies"]
    rate: float | None = spec.get("rate")
    clients: int = spec["clients"]
    tokens: dict[str, str] = spec["tokens"]
    results: list[dict[str, Any] | None] = [None] * len(bodies)
    encoded = [body["data"].encode("utf-8") for body in bodies]
    # when each body is due (paced runs): its place in the stream of records at `rate`
    due: list[float] = []
    total = 0
    for body in bodies:
        due.append(total / rate if rate else 0.0)
        total += body["records"]
    next_index = 0
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        nonlocal next_index
        with httpx.Client(base_url=spec["base"], timeout=120) as http:
            while True:
                with lock:
                    i = next_index
                    next_index += 1
                if i >= len(bodies):
                    return
                body = bodies[i]
                if rate:
                    wait = started + due[i] - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)  # pacing: the request is due then
                start = time.time()
                try:
                    response = http.post(
                        f"/v1/records/{body['agency']}",
                        content=encoded[i],
                        headers={
                            "Authorization": f"Bearer {tokens[body['agency']]}",
                            "Content-Type": body["content_type"],
                        },
                    )
                except httpx.HTTPError as exc:
                    failures.append(f"{body['agency']}: {exc!r}")
                    continue
                end = time.time()
                answer = response.json() if response.status_code == 202 else {}
                if response.status_code != 202:
                    failures.append(f"{body['agency']}: {response.status_code} {response.text}")
                results[i] = {
                    "start": start,
                    "end": end,
                    "status": response.status_code,
                    "record_id": answer.get("record_id"),
                    "records": body["records"],
                }

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"{len(failures)} request(s) failed, first: {failures[0][:500]}", file=sys.stderr)
    return [r for r in results if r is not None]


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    requests = run(spec)
    Path(argv[1]).write_text(json.dumps({"requests": requests}))
    return (
        0
        if len(requests) == len(spec["bodies"]) and all(r["status"] == 202 for r in requests)
        else 1
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
