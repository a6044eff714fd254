"""Every example under adapters/<agency>/examples translates to its reviewed golden file.

Regenerate (then review every diff by hand) with HELHET_REGENERATE_GOLDEN=1: that run writes the
files and skips these comparisons, so it never reports a pass it did not check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import adapters
from tests.helpers.adapters import RECEIVED, content_type, examples, golden_path


@pytest.mark.parametrize(("agency", "path"), examples(), ids=lambda v: getattr(v, "name", v))
def test_example_matches_golden(agency: str, path: Path) -> None:
    updates = adapters.translate(
        agency, path.read_bytes(), content_type(agency, path), received_at=RECEIVED
    )
    produced = [u.to_json_dict() for u in updates]
    golden = golden_path(agency, path)
    if os.environ.get("HELHET_REGENERATE_GOLDEN") == "1":
        golden.write_text(
            json.dumps(produced, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        pytest.skip(f"regenerated {golden.name}, not compared: review its diff by hand")
    assert golden.exists(), f"no golden file {golden.name}; regenerate and review it"
    assert produced == json.loads(golden.read_text(encoding="utf-8"))


def test_every_agency_has_several_examples_and_a_multi_record_body() -> None:
    for agency in ("nav", "school", "health", "child_welfare", "housing"):
        files = [p for a, p in examples() if a == agency]
        assert len(files) >= 3, agency
        counts = [
            len(
                adapters.translate(
                    agency, p.read_bytes(), content_type(agency, p), received_at=RECEIVED
                )
            )
            for p in files
        ]
        assert max(counts) >= 2, agency


def test_translation_is_deterministic_and_received_at_is_carried() -> None:
    for agency, path in examples():
        first = adapters.translate(
            agency, path.read_bytes(), content_type(agency, path), received_at=RECEIVED
        )
        second = adapters.translate(
            agency, path.read_bytes(), content_type(agency, path), received_at=RECEIVED
        )
        assert [u.to_json_dict() for u in first] == [u.to_json_dict() for u in second]
        assert all(u.source.received_at == RECEIVED for u in first)
        assert all(u.source.agency.value == agency for u in first)
