"""The coordinator's guide stays true: its examples are valid requests, its category table is
the vocabulary."""

from __future__ import annotations

import json
import re
from pathlib import Path

from consent.models import ConsentIn
from gateway.intake.families import FamilyIn
from schemas.categories import CATEGORY_INFO

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def test_consent_guide_examples_are_valid_requests() -> None:
    text = (DOCS / "consent.md").read_text(encoding="utf-8")
    enrol = _section(text, "## 0. First: enrol the family")
    body = re.search(r"POST /v1/families[^\n]*\n(\{.*?\})\n\n201", enrol, re.S)
    assert body is not None
    family = FamilyIn.model_validate(json.loads(body.group(1)))
    consent_json = re.search(
        r"```json\n(.*?)```", _section(text, "## 1. What a consent records"), re.S
    )
    assert consent_json is not None
    consent = ConsentIn.model_validate(json.loads(consent_json.group(1)))
    members = {m.id for m in family.members}
    assert consent.subject in members and set(consent.given_by) <= members


def test_consent_guide_lists_every_category() -> None:
    text = (DOCS / "consent.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z_.]+)` \| ([^|]+) \| ([a-z]+) \|$", text, re.M)
    assert {name: (what.strip(), level) for name, what, level in listed} == {
        info.category.value: (info.description, info.sensitivity.value)
        for info in CATEGORY_INFO.values()
    }


def test_operations_guide_documents_every_metric() -> None:
    api = DOCS.parent / "gateway" / "api"  # the metrics are the API's (the console's are cookies)
    code = "".join(p.read_text(encoding="utf-8") for p in api.rglob("*.py"))
    emitted = set(re.findall(r'"(helhet_[a-z_]+)"', code))
    documented = set(
        re.findall(r"^\| `(helhet_[a-z_]+)` \|", (DOCS / "operations.md").read_text(), re.M)
    )
    assert emitted and emitted == documented
