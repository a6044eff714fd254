"""The gateway end to end against a bare producer (DESIGN §11), on one machine in one run.

`helhet serve` (API and relay in one process) runs against the bundled broker and a SQLite
file (or PostgreSQL with --postgres). Synthetic families of every kind are enrolled with their
consents; then a load generator in its own process posts native multi-record bodies from all
five agencies over keep-alive connections:

1. throughput: every body as fast as answered, timed from the first POST until the relay has
   recorded the broker's acknowledgement of the last message (records/s and messages/s);
2. latency: more bodies paced at a fixed rate (--rate, 200 records/s), each request's time from
   POST to the broker's acknowledgement of its last message (p50, p99);
3. the bare producer: kafka-python (acks=all, idempotent, the relay's settings) sends as many
   messages of the same sizes and keys as step 1 published, to other topics on the same broker.

Also the server process's resident memory (peak and at the end). Prints a table; writes JSON
(--json, default .bench/gateway.json) and a copy in benchmarks/results/ named by time and
commit, with the machine's core count. See docs/scaling.md, "Measuring".

    python benchmarks/bench_gateway.py [--families 100] [--rounds 1] [--batch 20] [--clients 8]
        [--rate 200] [--latency-seconds 8] [--postgres URL] [--py-spy FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import workload
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from gateway.api.clients import Role, add_client
from gateway.config import keys
from gateway.config.instance import open_instance
from gateway.config.settings import load_settings
from gateway.db import migrate
from gateway.db.engine import create_engine
from gateway.db.tables import outbox
from gateway.kafka.broker import EmbeddedBroker
from schemas import Agency
from schemas.identifiers import set_default_allow_synthetic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MUNICIPALITY = "4697"
PARTITIONS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_instance(directory: Path, kafka: str, database_url: str, port: int) -> Path:
    config = directory / "helhet.toml"
    config.write_text(
        f'municipality = "{MUNICIPALITY}"\nenvironment = "test"\nallow_synthetic_ids = true\n'
        f'database_url = "{database_url}"\nkafka_bootstrap_servers = "{kafka}"\n'
        f"kafka_topic_partitions = {PARTITIONS}\nhttp_port = {port}\n"
        "relay_poll_interval = 0.05\nrelay_batch_size = 500\n"
        "rate_limit_per_minute = 0\nrate_limit_per_address_per_minute = 0\n"
        "checkpoint_interval_seconds = 3600\nplan_sweep_interval_seconds = 0\n"
    )
    keys.generate_signing_key(directory / "keys" / "gateway-signing.pem")
    keys.generate_secret(directory / "keys" / "pseudonym.key")
    for agency in Agency:
        keys.generate_agency_keypair(
            directory / "private" / f"{agency.value}.key",
            directory / "agency-keys" / f"{agency.value}.pub.pem",
        )
    return config


def prepare(config: Path) -> dict[str, str]:
    """Migrate the database and add the clients: their tokens by agency (and coordinator)."""
    instance = open_instance(load_settings(config))
    try:
        migrate.upgrade(instance.engine)
        now = dt.datetime.now(dt.UTC)
        tokens = {}
        with instance.engine.begin() as conn:
            for agency in Agency:
                tokens[agency.value] = add_client(
                    conn, f"{agency.value}-bench", Role.AGENCY, agency.value, now=now
                ).token
            tokens["coordinator"] = add_client(
                conn, "coordinator-bench", Role.COORDINATOR, None, now=now
            ).token
        return tokens
    finally:
        instance.close()


def start_server(config: Path, directory: Path, workers: int) -> subprocess.Popen[bytes]:
    log = (directory / "serve.log").open("wb")
    return subprocess.Popen(  # our own CLI
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "--config",
            str(config),
            "serve",
            *(["--workers", str(workers)] if workers > 1 else []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,
    )


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"helhet serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("helhet serve did not become ready")


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            pids += _process_tree(int(child))
    return pids


def memory(pid: int) -> dict[str, float]:
    """Resident memory (MiB) of the server: now and peak (VmRSS, VmHWM), summed over the
    process and its children (the worker processes of `serve --workers N`)."""
    fields = {"VmRSS": 0.0, "VmHWM": 0.0}
    pids = _process_tree(pid)
    for each in pids:
        try:
            lines = Path(f"/proc/{each}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            name, _, value = line.partition(":")
            if name in fields:
                fields[name] += int(value.split()[0]) / 1024
    return {
        "rss_mib": round(fields["VmRSS"], 1),
        "peak_rss_mib": round(fields["VmHWM"], 1),
        "processes": len(pids),
    }


def enrol(base: str, token: str, families: list[Any]) -> int:
    consents = 0
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        for family in families:
            answer = http.post("/v1/families", json=family.as_request(), headers=auth)
            answer.raise_for_status()
            family.family_id = answer.json()["family_id"]
            for body in workload.consents(family, dt.datetime.now(dt.UTC)):
                answer = http.post("/v1/consents", json=body, headers=auth)
                if answer.status_code != 201:
                    raise SystemExit(f"consent refused: {answer.status_code} {answer.text}")
                consents += 1
    return consents


def load(
    base: str,
    tokens: dict[str, str],
    bodies: list[workload.Body],
    *,
    clients: int,
    rate: float | None,
    directory: Path,
    name: str,
) -> list[dict[str, Any]]:
    """Run the load generator in its own process; its per-request results."""
    spec = directory / f"{name}-spec.json"
    out = directory / f"{name}-out.json"
    spec.write_text(
        json.dumps(
            {
                "base": base,
                "tokens": tokens,
                "bodies": [body.as_json() for body in bodies],
                "clients": clients,
                "rate": rate,
            }
        )
    )
    done = subprocess.run([sys.executable, str(HERE / "loadgen.py"), str(spec), str(out)])
    if done.returncode != 0:
        raise SystemExit(f"the load generator failed ({name}); see above")
    requests: list[dict[str, Any]] = json.loads(out.read_text())["requests"]
    return requests


def wait_delivered(engine: sa.Engine, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            waiting = conn.execute(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.status.in_(("pending", "in_flight")))
            ).scalar_one()
        if waiting == 0:
            return
        time.sleep(0.05)
    raise SystemExit("the relay did not deliver everything in time")


def deliveries(engine: sa.Engine, record_ids: list[str]) -> dict[str, tuple[int, float]]:
    """Per record id: (messages delivered, when the last was acknowledged, epoch seconds)."""
    c = outbox.c
    out: dict[str, tuple[int, float]] = {}
    with engine.connect() as conn:
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start : start + 500]
            rows = conn.execute(
                sa.select(c.record_id, sa.func.count(), sa.func.max(c.delivered_at))
                .where(c.record_id.in_(chunk), c.status == "delivered")
                .group_by(c.record_id)
            )
            for record_id, count, last in rows:
                if isinstance(last, str):  # SQLite without type affinity for aggregates
                    last = dt.datetime.fromisoformat(last)
                if last.tzinfo is None:
                    last = last.replace(tzinfo=dt.UTC)
                out[record_id] = (int(count), last.timestamp())
    return out


def published(kafka: str, topics: list[str], count: int) -> list[tuple[str, bytes | None, int]]:
    """(topic, key, value size) of the first `count` messages found on the topics."""
    consumer = KafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for topic in topics for p in range(PARTITIONS)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        found: list[tuple[str, bytes | None, int]] = []
        deadline = time.monotonic() + 120
        while len(found) < count and time.monotonic() < deadline:
            for part, messages in consumer.poll(timeout_ms=500, max_records=5000).items():
                found.extend((part.topic, m.key, len(m.value)) for m in messages)
        return found[:count]
    finally:
        consumer.close()


def bare_producer(kafka: str, messages: list[tuple[str, bytes | None, int]]) -> float:
    """Seconds for kafka-python alone to send these messages (same sizes and keys) and have
    every one acknowledged, with the relay's producer settings."""
    topics = sorted({topic for topic, _key, _size in messages})
    admin = KafkaAdminClient(bootstrap_servers=kafka)
    try:
        admin.create_topics(
            [NewTopic(f"bare.{t}", num_partitions=PARTITIONS, replication_factor=1) for t in topics]
        )
    finally:
        admin.close()
    values = {size: os.urandom(size) for _topic, _key, size in messages}
    producer = KafkaProducer(
        bootstrap_servers=kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_in_flight_requests_per_connection=5,
    )
    try:
        producer.send(f"bare.{topics[0]}", value=b"warm-up").get(timeout=60)
        start = time.perf_counter()
        futures = [
            producer.send(f"bare.{topic}", key=key, value=values[size])
            for topic, key, size in messages
        ]
        producer.flush()
        for future in futures:
            future.get(timeout=60)
        return time.perf_counter() - start
    finally:
        producer.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(args: argparse.Namespace) -> dict[str, Any]:
    set_default_allow_synthetic(True)
    today = dt.date.today()
    families = workload.families(args.families, args.seed, today)
    throughput_bodies = workload.bodies(families, today, rounds=args.rounds, batch=args.batch)
    paced_records = int(args.rate * args.latency_seconds)
    paced: list[workload.Body] = []
    extra = 0
    while sum(b.records for b in paced) < paced_records:
        more = workload.bodies(
            families, today, rounds=1, batch=args.batch, first_round=args.rounds + extra
        )
        extra += 1
        for body in more:
            if sum(b.records for b in paced) >= paced_records:
                break
            paced.append(body)

    directory = Path(tempfile.mkdtemp(prefix="helhet-bench-"))
    database = args.postgres
    if database:
        admin = create_engine(database, isolation_level="AUTOCOMMIT")
        name = f"helhet_bench_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        database_url = sa.make_url(database).set(database=name).render_as_string(False)
    else:
        database_url = "sqlite:///bench.db"
    result: dict[str, Any] = {}
    try:
        with EmbeddedBroker() as broker:
            kafka = broker.bootstrap_servers
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            config = write_instance(directory, kafka, database_url, port)
            tokens = prepare(config)
            settings = load_settings(config)
            engine = create_engine(settings.database_url)
            server = start_server(config, directory, args.workers)
            try:
                wait_ready(base, server)
                consents = enrol(base, tokens["coordinator"], families)
                idle_memory = memory(server.pid)
                profiler = None
                if args.py_spy:
                    profiler = subprocess.Popen(
                        [
                            shutil.which("py-spy") or "py-spy",
                            "record",
                            "--pid",
                            str(server.pid),
                            "--format",
                            "raw",
                            "--output",
                            str(Path(args.py_spy).resolve()),
                            "--threads",
                            "--rate",
                            "50",
                        ],
                        stdout=subprocess.DEVNULL,
                    )
                    time.sleep(1.0)  # py-spy attaches
                # 1. throughput
                requests = load(
                    base,
                    tokens,
                    throughput_bodies,
                    clients=args.clients,
                    rate=None,
                    directory=directory,
                    name="throughput",
                )
                wait_delivered(engine)
                if profiler is not None:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(timeout=60)
                loaded_memory = memory(server.pid)
                ids = [r["record_id"] for r in requests if r["record_id"]]
                delivered = deliveries(engine, ids)
                first = min(r["start"] for r in requests)
                last_answer = max(r["end"] for r in requests)
                last_ack = max((t for _n, t in delivered.values()), default=last_answer)
                messages = sum(n for n, _t in delivered.values())
                records = sum(r["records"] for r in requests)
                with engine.connect() as conn:
                    by_status: dict[str, int] = dict(
                        conn.execute(
                            sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
                        ).all()
                    )
                topics = [settings.topic(agency.value) for agency in Agency]
                sizes = published(kafka, topics, messages)

                # 2. latency at a fixed rate
                paced_requests = (
                    load(
                        base,
                        tokens,
                        paced,
                        clients=args.clients,
                        rate=args.rate,
                        directory=directory,
                        name="latency",
                    )
                    if paced
                    else []
                )
                wait_delivered(engine)
                paced_delivered = deliveries(
                    engine, [r["record_id"] for r in paced_requests if r["record_id"]]
                )
                latencies = [
                    (paced_delivered[r["record_id"]][1] - r["start"]) * 1000
                    for r in paced_requests
                    if r["record_id"] in paced_delivered
                ]
                answers = [(r["end"] - r["start"]) * 1000 for r in paced_requests]
                starts = [r["start"] for r in paced_requests]
                paced_span = max(starts) - min(starts) if starts else 0.0
                end_memory = memory(server.pid)
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
                engine.dispose()

            # 3. the bare producer, same broker, same count, sizes and keys
            bare_s = bare_producer(kafka, sizes)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if database:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()

    span = last_ack - first
    bare_rate = len(sizes) / bare_s
    gateway_messages_rate = messages / span
    result = {
        "benchmark": "gateway",
        "commit": commit(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "database": "postgresql" if database else "sqlite",
        "workers": args.workers,
        "process_layout": (
            "helhet serve: API and relay in one process"
            if args.workers == 1
            else f"helhet serve --workers {args.workers}: API workers, relay in the parent"
        )
        + "; load generator and broker apart, all on the same cores",
        "families": args.families,
        "consents": consents,
        "clients": args.clients,
        "throughput": {
            "requests": len(requests),
            "records": records,
            "records_by_agency": _by_agency(throughput_bodies),
            "messages_delivered": messages,
            "outbox_by_status": by_status,
            "mean_body_bytes": round(statistics.mean(len(b.data) for b in throughput_bodies)),
            "mean_envelope_bytes": round(statistics.mean(s for _t, _k, s in sizes)) if sizes else 0,
            "accept_s": round(last_answer - first, 3),
            "end_to_end_s": round(span, 3),
            "records_per_s": round(records / span, 1),
            "messages_per_s": round(gateway_messages_rate, 1),
        },
        "bare_producer": {
            "messages": len(sizes),
            "seconds": round(bare_s, 3),
            "messages_per_s": round(bare_rate, 1),
        },
        "ratio_messages": round(gateway_messages_rate / bare_rate, 3),
        "latency": {
            "rate_records_per_s": args.rate,
            "achieved_records_per_s": round(
                sum(r["records"] for r in paced_requests) / paced_span, 1
            )
            if paced_span
            else None,
            "requests": len(paced_requests),
            "requests_with_deliveries": len(latencies),
            "relay_poll_interval_s": 0.05,
            "post_to_ack_p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
            "post_to_ack_p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
            "post_to_ack_max_ms": round(max(latencies), 1) if latencies else None,
            "answer_p50_ms": round(percentile(answers, 0.50), 1) if answers else None,
            "answer_p99_ms": round(percentile(answers, 0.99), 1) if answers else None,
        },
        "server_memory": {
            "after_enrolment": idle_memory,
            "after_throughput": loaded_memory,
            "at_end": end_memory,
        },
    }
    return result


def _by_agency(bodies: list[workload.Body]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for body in bodies:
        counts[body.agency] = counts.get(body.agency, 0) + body.records
    return dict(sorted(counts.items()))


def summary(result: dict[str, Any]) -> str:
    t, b, lat, mem = (
        result["throughput"],
        result["bare_producer"],
        result["latency"],
        result["server_memory"],
    )
    rows = [
        ("database", result["database"]),
        ("cores (usable)", f"{result['cpus']} ({result['cpus_usable']})"),
        ("records end to end", f"{t['records']} in {t['end_to_end_s']} s"),
        ("gateway records/s", t["records_per_s"]),
        ("gateway messages/s", t["messages_per_s"]),
        ("bare producer msg/s", b["messages_per_s"]),
        ("ratio (messages/s)", result["ratio_messages"]),
        ("p50 POST->ack (ms)", lat["post_to_ack_p50_ms"]),
        ("p99 POST->ack (ms)", lat["post_to_ack_p99_ms"]),
        (
            "at rate (rec/s)",
            f"{lat['rate_records_per_s']} (achieved {lat['achieved_records_per_s']})",
        ),
        ("server RSS peak (MiB)", mem["at_end"]["peak_rss_mib"]),
        ("server RSS end (MiB)", mem["at_end"]["rss_mib"]),
        ("commit", result["commit"]),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def curve(args: argparse.Namespace) -> int:
    """records/s for each worker count, one run each, saved as one JSON."""
    if not args.postgres:
        raise SystemExit("--curve needs --postgres (several workers need PostgreSQL)")
    args.latency_seconds = 0
    points = []
    for workers in (int(n) for n in args.curve.split(",")):
        args.workers = workers
        result = run(args)
        t = result["throughput"]
        points.append(
            {
                "workers": workers,
                "records_per_s": t["records_per_s"],
                "messages_per_s": t["messages_per_s"],
                "bare_producer_messages_per_s": result["bare_producer"]["messages_per_s"],
                "ratio_messages": result["ratio_messages"],
                "server_rss_peak_mib": result["server_memory"]["after_throughput"]["peak_rss_mib"],
                "records": t["records"],
                "load_average_1m": result["load_average_1m"],
            }
        )
        print(f"workers {workers}: {t['records_per_s']} records/s, {t['messages_per_s']} msg/s")
    summary_doc = {
        "benchmark": "gateway workers curve",
        "commit": commit(),
        "cpus": os.cpu_count(),
        "database": "postgresql",
        "families": args.families,
        "clients": args.clients,
        "points": points,
    }
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = results / f"gateway-workers-postgresql-{stamp}-{summary_doc['commit']}.json"
    saved.write_text(json.dumps(summary_doc, indent=2) + "\n")
    print(f"wrote {saved}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="versions of every record sent")
    parser.add_argument("--batch", type=int, default=20, help="records per body (at most)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--rate", type=float, default=200.0, help="records/s for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (a database is made)")
    parser.add_argument("--py-spy", default=None, help="record the server's throughput run here")
    parser.add_argument("--workers", type=int, default=1, help="helhet serve --workers N")
    parser.add_argument(
        "--curve",
        default=None,
        help="e.g. 1,2,4: the throughput run once per worker count (PostgreSQL), no latency run",
    )
    parser.add_argument("--json", default=".bench/gateway.json")
    parser.add_argument("--results", default=str(HERE / "results"))
    args = parser.parse_args()
    if args.curve:
        return curve(args)
    result = run(args)
    print(summary(result))
    text = json.dumps(result, indent=2) + "\n"
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(text)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = results / f"gateway-{result['database']}-{stamp}-{result['commit']}.json"
    saved.write_text(text)
    print(f"wrote {args.json} and {saved}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
