"""Adapter throughput: a ~5 MB multi-record body per format, MB/s and records/s.

Usage: .venv/bin/python benchmarks/bench_adapters.py [--mb 5] [--repeat 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import adapters
from schemas import set_default_allow_synthetic

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "adapters"
RECEIVED = dt.datetime(2025, 4, 1, 12, 0, tzinfo=dt.UTC)


def _fill(make: Callable[[int], bytes], target: int, sep: bytes) -> tuple[bytes, int]:
    parts: list[bytes] = []
    size = 0
    n = 0
    while size < target:
        part = make(n)
        parts.append(part)
        size += len(part) + len(sep)
        n += 1
    return sep.join(parts), n


def _uuid(n: int, salt: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}{n}"))


def nav(target: int) -> tuple[bytes, int]:
    line = (EX / "nav/examples/aktivitetskort-arbeidstrening.json").read_text()
    doc = json.loads(line)

    def make(n: int) -> bytes:
        doc["messageId"] = _uuid(n, "m")
        doc["aktivitetskort"]["id"] = _uuid(n, "a")
        return json.dumps(doc).encode()

    return _fill(make, target, b"\n")


def school(target: int) -> tuple[bytes, int]:
    coll = json.loads((EX / "school/examples/fint-collection.json").read_text())
    entries = coll["_embedded"]["_entries"]

    def make(n: int) -> bytes:
        e = json.loads(json.dumps(entries[n % 3]))
        e["systemId"]["identifikatorverdi"] = f"X-{n}"
        return json.dumps(e).encode()

    body, n = _fill(make, target - 100, b",")
    return b'{"_embedded": {"_entries": [' + body + b"]}}", n


def health(target: int) -> tuple[bytes, int]:
    bundle = json.loads((EX / "health/examples/bundle-helsestasjon-mor-og-barn.json").read_text())

    def make(n: int) -> bytes:
        bundle["id"] = f"b-{n}"
        return json.dumps(bundle).encode()

    return _fill(make, target, b"\n")


def barnevern(target: int) -> tuple[bytes, int]:
    text = (EX / "child_welfare/examples/barnevern-v4.xml").read_text()
    head, rest = text.split("<Sak ", 1)
    sak = "<Sak " + rest.rsplit("</Barnevern>", 1)[0]

    def make(n: int) -> bytes:
        return re.sub(
            r'Id="([0-9a-f-]{36})"', lambda m: f'Id="{_uuid(n, m.group(1))}"', sak
        ).encode()

    body, n = _fill(make, target - len(head) - 20, b"\n")
    return head.encode() + body + b"</Barnevern>", n


def fiks(target: int) -> tuple[bytes, int]:
    doc = json.loads((EX / "child_welfare/examples/bekymringsmelding-offentlig.json").read_text())

    def make(n: int) -> bytes:
        doc["melding"]["historie"] = f"Observert {n}"
        return json.dumps(doc).encode()

    return _fill(make, target, b"\n")


def housing(target: int) -> tuple[bytes, int]:
    doc = json.loads((EX / "housing/examples/bostotte.json").read_text())

    def make(n: int) -> bytes:
        doc["id"] = f"BS-{n}"
        return json.dumps(doc).encode()

    return _fill(make, target, b"\n")


def passthrough(target: int) -> tuple[bytes, int]:
    (update,) = adapters.translate(
        "nav",
        (EX / "nav/examples/vedtak-14a.json").read_bytes(),
        "application/json",
        received_at=RECEIVED,
    )
    doc = update.to_json_dict()

    def make(n: int) -> bytes:
        doc["update_id"] = f"u-{n}"
        return json.dumps(doc).encode()

    return _fill(make, target, b"\n")


FORMATS: list[tuple[str, str, str, Callable[[int], tuple[bytes, int]]]] = [
    ("nav aktivitetskort ndjson", "nav", "application/x-ndjson", nav),
    ("school FINT collection json", "school", "application/json", school),
    ("health FHIR bundles ndjson", "health", "application/x-ndjson", health),
    ("child_welfare SSB xml", "child_welfare", "application/xml", barnevern),
    ("child_welfare Fiks ndjson", "child_welfare", "application/x-ndjson", fiks),
    ("housing bostøtte ndjson", "housing", "application/x-ndjson", housing),
    (
        "passthrough plan-update ndjson",
        "nav",
        "application/vnd.helhet.plan-update+json",
        passthrough,
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=".bench/adapters.json")
    args = parser.parse_args()
    set_default_allow_synthetic(True)
    target = int(args.mb * 1024 * 1024)
    results = []
    print(f"{'format':34} {'MB':>6} {'records':>8} {'items':>8} {'MB/s':>8} {'records/s':>10}")
    for name, agency, ctype, build in FORMATS:
        body, _records = build(target)
        best = float("inf")
        items = 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            updates = adapters.translate(
                agency, body, ctype, received_at=RECEIVED, max_bytes=len(body)
            )
            best = min(best, time.perf_counter() - start)
            items = sum(len(u.items) for u in updates)
        mb = len(body) / 1024 / 1024
        row = {
            "format": name,
            "agency": agency,
            "content_type": ctype,
            "bytes": len(body),
            "records": len(updates),
            "items": items,
            "seconds": best,
            "mb_per_s": mb / best,
            "records_per_s": len(updates) / best,
        }
        results.append(row)
        print(
            f"{name:34} {mb:6.2f} {len(updates):8d} {items:8d} "
            f"{mb / best:8.2f} {len(updates) / best:10.0f}"
        )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "adapters", "results": results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
