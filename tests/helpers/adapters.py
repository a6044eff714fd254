"""Helpers of the adapter tests (tests/adapters): fixed time, example files, golden paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
GOLDEN = PROJECT / "tests" / "adapters" / "golden"
RECEIVED = dt.datetime(2025, 4, 1, 12, 0, tzinfo=dt.UTC)
AGENCIES = ("nav", "school", "health", "child_welfare", "housing")


def content_type(agency: str, path: Path) -> str:
    if path.suffix == ".xml":
        return "application/xml"
    if path.suffix == ".ndjson":
        return "application/x-ndjson"
    return "application/fhir+json" if agency == "health" else "application/json"


def examples() -> list[tuple[str, Path]]:
    found = []
    for agency in AGENCIES:
        folder = PROJECT / "adapters" / agency / "examples"
        found += [
            (agency, p)
            for p in sorted(folder.iterdir())
            if p.suffix in (".json", ".ndjson", ".xml")
        ]
    return found


def golden_path(agency: str, path: Path) -> Path:
    return GOLDEN / f"{agency}__{path.stem}.json"
