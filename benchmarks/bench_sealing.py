"""Benchmark the sealed envelope: seals/s and opens/s for a typical ~2 KB PlanUpdate.

Prints a table and writes JSON (default .bench/sealing.json).
Run: .venv/bin/python benchmarks/bench_sealing.py [--json PATH] [--seconds S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.envelope.keyring import DataKeyRing
from gateway.envelope.sealing import encode_envelope, envelope_sha256, seal_message
from recipient.opening import DataKeyCache, EnvelopeOpener
from schemas.canonical import canonical_json
from schemas.identifiers import allow_synthetic_ids, classic_check_digits
from schemas.plan import PlanUpdate


def synthetic_fnr(n: int) -> str:
    while True:
        first_nine = f"{1 + n % 28:02d}{41 + n % 12:02d}{n % 100:02d}{100 + n % 400:03d}"
        digits = classic_check_digits(first_nine)
        if digits:
            return first_nine + digits
        n += 1


def typical_plan_update(target_bytes: int = 2048) -> dict[str, Any]:
    """A NAV PlanUpdate with items added until its canonical JSON is about `target_bytes`."""
    update: dict[str, Any] = {
        "schema": "helhet.plan-update/1",
        "update_id": str(uuid.uuid4()),
        "source": {
            "agency": "nav",
            "system": "aktivitetsplan",
            "record_type": "aktivitetskort",
            "record_id": str(uuid.uuid4()),
            "received_at": "2026-03-01T09:00:00+01:00",
        },
        "items": [],
    }
    i = 0
    while len(canonical_json(update)) < target_bytes:
        update["items"].append(
            {
                "item_id": f"item-{i}",
                "subject": synthetic_fnr(i * 7 + 3),
                "kind": "measure",
                "category": "employment",
                "title": "Arbeidstrening hos kommunal arbeidsgiver",
                "description": "Avtalt arbeidstrening tre dager i uka med oppfølging.",
                "status": "in_progress",
                "period": {"start": "2026-02-01", "end": "2026-06-30"},
                "responsible": {"agency": "nav", "unit": "NAV Grünerløkka"},
                "values": {"hours_per_week": 12},
            }
        )
        i += 1
    return update


def rate(fn: Callable[[], object], seconds: float) -> tuple[float, int]:
    """Operations per second of fn over about `seconds` (after a short warm-up)."""
    for _ in range(20):
        fn()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            fn()
        count += 50
    return count / (time.perf_counter() - start), count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=Path(".bench/sealing.json"))
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    args = parser.parse_args(argv)

    signing = Ed25519PrivateKey.generate()
    recipient = X25519PrivateKey.generate()
    keyring = DataKeyRing()
    payload = typical_plan_update()
    created = dt.datetime.now(dt.UTC)

    def do_seal() -> dict[str, Any]:
        return seal_message(
            payload,
            message_id=str(uuid.uuid4()),
            disclosure_index=123456,
            created_at=created,
            municipality="0301",
            source="nav",
            recipient="school",
            family_id="fam-0001",
            recipient_public_key=recipient.public_key(),
            signing_key=signing,
            keyring=keyring,
        ).envelope

    sample = encode_envelope(do_seal())
    warm = EnvelopeOpener(recipient, [signing.public_key()], expected_recipient="school")

    def do_open_cached() -> object:
        return warm.open(sample)

    def do_open_cold() -> object:
        opener = EnvelopeOpener(
            recipient, [signing.public_key()], expected_recipient="school", cache=DataKeyCache()
        )
        return opener.open(sample)

    def do_encode_and_hash() -> object:
        return envelope_sha256(encode_envelope(do_seal()))

    with allow_synthetic_ids():
        model = PlanUpdate.model_validate(payload)

    def do_pipeline() -> object:
        return seal_message(
            model,
            message_id=uuid.uuid4().hex,
            disclosure_index=123456,
            created_at=created,
            municipality="0301",
            source="nav",
            recipient="school",
            family_id="fam-0001",
            recipient_public_key=recipient.public_key(),
            signing_key=signing,
            keyring=keyring,
        ).sha256

    rows: list[dict[str, Any]] = []
    for name, fn in (
        ("seal (data key cached in the ring)", do_seal),
        ("seal + encode + sha256 (dict payload)", do_encode_and_hash),
        ("seal_message (pipeline: PlanUpdate)", do_pipeline),
        ("open (data key cached)", do_open_cached),
        ("open (cold: HPKE unwrap each time)", do_open_cold),
    ):
        per_second, count = rate(fn, args.seconds)
        rows.append({"operation": name, "per_second": round(per_second, 1), "count": count})

    result = {
        "benchmark": "sealing",
        "payload_bytes": len(canonical_json(payload)),
        "payload_items": len(payload["items"]),
        "envelope_bytes": len(sample),
        "results": rows,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "seconds_per_measurement": args.seconds,
    }
    print(
        f"payload {result['payload_bytes']} B ({result['payload_items']} items), "
        f"envelope {result['envelope_bytes']} B"
    )
    print(f"{'operation':<40} {'ops/s':>10} {'µs/op':>9}")
    for row in rows:
        print(f"{row['operation']:<40} {row['per_second']:>10.0f} {1e6 / row['per_second']:>9.1f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
