"""Consent decisions with 1,000,000 consents loaded: decisions/s, p50/p99 latency, memory.

Usage: .venv/bin/python benchmarks/bench_consent.py [--consents N] [--decisions N] [--json PATH]
All identifiers are synthetic (month + 40) with valid check digits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consent import ConsentIndex, PersonFacts, StatutoryBasis, store
from consent.models import ConsentIn
from consent.tables import metadata
from schemas import Agency, Category, allow_synthetic_ids
from schemas.identifiers import classic_check_digits

AGENCIES = [a.value for a in Agency]
CATEGORIES = [c.value for c in Category]
AT = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_ids(first_year: int, years: int) -> Iterator[tuple[str, dt.date]]:
    """Valid synthetic fødselsnumre (month + 40), date by date."""
    day = dt.date(first_year, 1, 1)
    end = dt.date(first_year + years, 1, 1)
    base = 500 if first_year >= 2000 else 100
    while day < end:
        stem = f"{day.day:02d}{day.month + 40:02d}{day.year % 100:02d}"
        for individual in range(base, base + 400):
            digits = classic_check_digits(f"{stem}{individual:03d}")
            if digits is not None:
                yield f"{stem}{individual:03d}{digits}", day
        day += dt.timedelta(days=1)


def scope(rng: random.Random, values: list[str], p_all: float) -> list[str]:
    if rng.random() < p_all:
        return ["*"]
    return rng.sample(values, rng.randint(1, 3))


def documents(
    n: int, children: list[tuple[str, dt.date]], parents: list[str], rng: random.Random
) -> Iterator[dict[str, Any]]:
    """n consent documents in stored form spread over the children (about two each)."""
    for i in range(n):
        child, _born = children[i % len(children)]
        guardians = guardians_of(i % len(children), parents)
        start = AT - dt.timedelta(days=rng.randint(1, 700))
        expired = rng.random() < 0.05
        yield {
            "consent_id": f"{i:08x}-0000-4000-8000-000000000000",
            "version": 2 if rng.random() < 0.05 else 1,
            "status": "withdrawn" if rng.random() < 0.05 else "active",
            "subject": child,
            "given_by": list(guardians) if rng.random() < 0.9 else [child],
            "sources": scope(rng, AGENCIES, 0.5),
            "recipients": scope(rng, AGENCIES, 0.5),
            "categories": scope(rng, CATEGORIES, 0.3),
            "purpose": "family_plan",
            "valid_from": start.isoformat(),
            "valid_until": (AT - dt.timedelta(days=1)).isoformat() if expired else None,
            "restrictions": (
                [{"recipients": ["school"], "categories": ["health.mental"]}]
                if rng.random() < 0.1
                else []
            ),
        }


def guardians_of(child_index: int, parents: list[str]) -> tuple[str, str]:
    return parents[(2 * child_index) % len(parents)], parents[(2 * child_index + 1) % len(parents)]


def percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def refresh_latency(rounds: int = 2000) -> dict[str, float]:
    """A no-change refresh against a SQLite file with 1,000 consents (one empty range query)."""
    with tempfile.TemporaryDirectory() as tmp, allow_synthetic_ids():
        engine = sa.create_engine(f"sqlite:///{tmp}/bench.db")
        child, parent = next(synthetic_ids(2012, 1))[0], next(synthetic_ids(1980, 1))[0]
        body = ConsentIn.model_validate(
            {
                "subject": child,
                "given_by": [parent],
                "sources": ["*"],
                "recipients": ["*"],
                "categories": ["*"],
                "evidence": {"method": "written", "reference": "bench"},
            }
        )
        with engine.begin() as conn:
            metadata.create_all(conn)
            for _ in range(1000):
                store.record(conn, body, recorded_by="bench", now=AT)
        index = ConsentIndex()
        times: list[int] = []
        with engine.connect() as conn:
            index.load(conn)
            conn.commit()
            for _ in range(rounds):
                t0 = time.perf_counter_ns()
                index.refresh(conn)
                conn.commit()
                times.append(time.perf_counter_ns() - t0)
        engine.dispose()
    times.sort()
    return {"refresh_p50_us": percentile(times, 0.5), "refresh_p99_us": percentile(times, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consents", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--json", default=".bench/consent.json")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    rss_start = rss_mib()
    n_children = max(1, args.consents // 2)
    ids = synthetic_ids(2008, 17)
    children = [next(ids) for _ in range(n_children)]
    parents = [pid for pid, _ in itertools.islice(synthetic_ids(1975, 15), n_children)]
    facts = [
        PersonFacts(child, born, frozenset(guardians_of(i, parents)), "NO")
        for i, (child, born) in enumerate(children)
    ]
    rss_people = rss_mib()

    duty = StatutoryBasis(
        id="no-bvl-13-2",
        law="barnevernsloven",
        section="§ 13-2",
        description="duty to inform child welfare",
        sources=["school", "health"],
        recipients=["child_welfare"],
        categories=["*"],
    )
    index = ConsentIndex(statutes=[duty])
    gc.collect()
    gc.disable()  # the index is long-lived; as in the gateway, after load the GC is re-enabled
    t0 = time.perf_counter()
    index.add_documents(documents(args.consents, children, parents, rng))
    build_s = time.perf_counter() - t0
    gc.enable()
    gc.freeze()
    rss_loaded = rss_mib()

    requests = []
    for _ in range(args.decisions + 10_000):
        i = rng.randrange(n_children)
        requests.append(
            (
                children[i][0],
                rng.choice(AGENCIES),
                rng.choice(AGENCIES),
                rng.choice(CATEGORIES),
                "family_plan",
                AT,
                facts[i],
            )
        )
    decide = index.decide
    for req in requests[args.decisions :]:  # warm the interpreter's paths, not these requests
        decide(*req)
    del requests[args.decisions :]

    # Cold: most requests name a consent version not decided before (a Decision is built);
    # warm: the same requests again (as when one record goes to several recipients).
    passes = []
    for _ in range(2):
        t0 = time.perf_counter()
        permits = 0
        for req in requests:
            permits += decide(*req).permit
        passes.append(time.perf_counter() - t0)

    latencies: list[int] = []
    clock = time.perf_counter_ns
    for req in requests:
        start = clock()
        decide(*req)
        latencies.append(clock() - start)
    latencies.sort()

    results: dict[str, Any] = {
        "consents": len(index),
        "consent_documents": args.consents,
        "subjects": n_children,
        "decisions": args.decisions,
        "permit_share": round(permits / args.decisions, 3),
        "build_s": round(build_s, 2),
        "decisions_per_s": round(args.decisions / passes[0]),
        "decisions_per_s_warm": round(args.decisions / passes[1]),
        "p50_us": round(percentile(latencies, 0.50), 2),
        "p99_us": round(percentile(latencies, 0.99), 2),
        "p999_us": round(percentile(latencies, 0.999), 2),
        "rss_start_mib": round(rss_start),
        "rss_people_mib": round(rss_people),
        "rss_loaded_mib": round(rss_loaded),
        "index_mib_estimate": round(rss_loaded - rss_people),
        **{k: round(v, 1) for k, v in refresh_latency().items()},
        "python": sys.version.split()[0],
    }
    width = max(map(len, results))
    print("consent decisions")
    for key, value in results.items():
        print(f"  {key:<{width}}  {value}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
