"""The registry: agencies, content types (parameters ignored), size limit, the passthrough."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import adapters
from adapters import BodyTooLarge, InvalidIdentifier, InvalidRecord, UnknownAgency
from adapters.base import Adapter
from adapters.health import HealthAdapter
from schemas import Category, allow_synthetic_ids
from tests.helpers.adapters import AGENCIES, PROJECT, RECEIVED

GOAL = {
    "schema": "helhet.plan-update/1",
    "update_id": "goal-2025-001",
    "source": {
        "agency": "school",
        "system": "familiekoordinator",
        "record_type": "goal",
        "record_id": "g1",
        "received_at": "2025-03-01T10:00:00+01:00",
    },
    "items": [
        {
            "item_id": "g1-1",
            "subject": "22451250713",
            "kind": "goal",
            "category": "plan.goal",
            "title": "Møte på skolen hver dag",
            "status": "in_progress",
        }
    ],
}


def test_every_agency_has_an_adapter_satisfying_the_protocol() -> None:
    for agency in AGENCIES:
        adapter = adapters.get_adapter(agency)
        assert isinstance(adapter, Adapter)
        assert adapter.agency.value == agency
        types = adapters.supported_content_types(agency)
        assert types[-1] == "application/vnd.helhet.plan-update+json"
        assert "application/x-ndjson" in types


def test_unknown_agency() -> None:
    with pytest.raises(UnknownAgency) as info:
        adapters.translate("police", b"{}", "application/json")
    assert info.value.status == 422
    assert "nav" in info.value.expected


def test_content_type_parameters_are_ignored() -> None:
    body = (PROJECT / "adapters/nav/examples/vedtak-14a.json").read_bytes()
    (update,) = adapters.translate(
        "nav", body, "Application/JSON; charset=utf-8", received_at=RECEIVED
    )
    assert update.items[0].kind.value == "decision"


def test_body_too_large_is_413() -> None:
    with pytest.raises(BodyTooLarge) as info:
        adapters.translate("nav", b" " * 2000, "application/json", max_bytes=1000)
    assert info.value.status == 413


def test_received_at_defaults_to_now_utc() -> None:
    body = (PROJECT / "adapters/nav/examples/vedtak-14a.json").read_bytes()
    before = dt.datetime.now(dt.UTC)
    (update,) = adapters.translate("nav", body, "application/json")
    assert before <= update.source.received_at <= dt.datetime.now(dt.UTC)


def test_item_id_is_stable_across_versions_and_update_id_changes() -> None:
    doc = json.loads(
        (PROJECT / "adapters/nav/examples/aktivitetskort-arbeidstrening.json").read_bytes()
    )
    (first,) = adapters.translate(
        "nav", json.dumps(doc).encode(), "application/json", received_at=RECEIVED
    )
    doc["messageId"] = "6c1f7a1e-2b8d-4c1a-9a0e-3f1b2c3d4e99"
    doc["aktivitetskort"]["aktivitetStatus"] = "FULLFORT"
    (second,) = adapters.translate(
        "nav", json.dumps(doc).encode(), "application/json", received_at=RECEIVED
    )
    assert first.items[0].item_id == second.items[0].item_id
    assert first.update_id != second.update_id
    assert second.items[0].status.value == "completed"


def test_passthrough_single_object_and_ndjson() -> None:
    body = json.dumps(GOAL).encode()
    (update,) = adapters.translate(
        "school", body, "application/vnd.helhet.plan-update+json", received_at=RECEIVED
    )
    assert update.update_id == "goal-2025-001"
    assert update.source.received_at == RECEIVED
    second = dict(GOAL, update_id="goal-2025-002")
    ndjson = (json.dumps(GOAL) + "\n" + json.dumps(second) + "\n").encode()
    updates = adapters.translate(
        "school",
        ndjson,
        "application/vnd.helhet.plan-update+json; charset=utf-8",
        received_at=RECEIVED,
    )
    assert [u.update_id for u in updates] == ["goal-2025-001", "goal-2025-002"]


def test_passthrough_refuses_another_agencys_source() -> None:
    with pytest.raises(InvalidRecord) as info:
        adapters.translate(
            "nav", json.dumps(GOAL).encode(), "application/vnd.helhet.plan-update+json"
        )
    assert info.value.pointer == "/source/agency"


def test_passthrough_refuses_schema_violations_at_the_field() -> None:
    bad = json.loads(json.dumps(GOAL))
    bad["items"][0]["category"] = "plan.wish"
    with pytest.raises(InvalidRecord) as info:
        adapters.translate(
            "school", json.dumps(bad).encode(), "application/vnd.helhet.plan-update+json"
        )
    assert info.value.pointer == "/items/0/category"
    bad["items"][0]["category"] = "plan.goal"
    bad["items"][0]["subject"] = "22451250714"
    with pytest.raises(InvalidIdentifier) as info2:
        adapters.translate(
            "school", json.dumps(bad).encode(), "application/vnd.helhet.plan-update+json"
        )
    assert info2.value.pointer == "/items/0/subject"


def test_synthetic_identifiers_are_refused_when_the_instance_does_not_allow_them() -> None:
    body = (PROJECT / "adapters/nav/examples/vedtak-14a.json").read_bytes()
    with allow_synthetic_ids(False), pytest.raises(InvalidIdentifier) as info:
        adapters.translate("nav", body, "application/json")
    assert "synthetic" in str(info.value)


def test_health_category_mapping_is_configurable() -> None:
    body = (PROJECT / "adapters/health/examples/bundle-dk-mor-og-barn.json").read_bytes()
    default = HealthAdapter().translate(body, "application/fhir+json", received_at=RECEIVED)
    assert [i.category for i in default[0].items] == [
        Category.HEALTH_MENTAL,
        Category.HEALTH_GENERAL,
    ]
    custom = HealthAdapter(category_map={"394587001": "health.substance"})
    (update,) = custom.translate(body, "application/fhir+json", received_at=RECEIVED)
    assert update.items[0].category is Category.HEALTH_SUBSTANCE


def test_register_replaces_an_adapter() -> None:
    original = adapters.get_adapter("health")
    try:
        adapters.register(HealthAdapter(category_map={}))
        body = (PROJECT / "adapters/health/examples/bundle-dk-mor-og-barn.json").read_bytes()
        (update,) = adapters.translate(
            "health", body, "application/fhir+json", received_at=RECEIVED
        )
        assert update.items[0].category is Category.HEALTH_GENERAL
    finally:
        adapters.register(original)
