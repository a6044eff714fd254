"""The common schema models and the committed JSON Schema files."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from schemas import Category, Family, PlanUpdate, Sensitivity
from schemas.export import JSON_DIR, rendered

CHILD = "12430587682"  # synthetic (month + 40), born 2005-03-12, valid check digits
PARENT = "03448012483"


def _update(**item_overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "item_id": "i1",
        "subject": CHILD,
        "kind": "observation",
        "category": "education.attendance",
        "title": "Absence, autumn term",
        "status": "recorded",
        "values": {"hours": 12.5, "percent": 8.1},
    }
    item.update(item_overrides)
    return {
        "schema": "helhet.plan-update/1",
        "update_id": "u1",
        "source": {
            "agency": "school",
            "system": "FINT",
            "record_type": "fravarsoversikt",
            "record_id": "42",
            "received_at": "2026-11-24T08:00:00+01:00",
        },
        "items": [item],
    }


def test_synthetic_ids_in_this_file_are_valid() -> None:
    from schemas import parse_person_id

    for number in (CHILD, PARENT):
        assert parse_person_id(number, allow_synthetic=True).synthetic


def test_plan_update_round_trip() -> None:
    update = PlanUpdate.model_validate(_update())
    again = PlanUpdate.model_validate(update.to_json_dict())
    assert again == update
    assert update.to_json_dict()["schema"] == "helhet.plan-update/1"
    assert update.subjects == [CHILD]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"category": "health.dental"}, "category"),
        ({"subject": "12430512314"}, "subject"),
        ({"kind": "wish"}, "kind"),
        ({"status": "done"}, "status"),
        ({"period": {"start": "2026-02-01", "end": "2026-01-01"}}, "period"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_items_name_the_field(override: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        PlanUpdate.model_validate(_update(**override))
    locations = [err["loc"] for err in info.value.errors()]
    assert any(field in loc for loc in locations), locations


def test_received_at_must_have_a_zone() -> None:
    body = _update()
    body["source"]["received_at"] = "2026-11-24T08:00:00"  # type: ignore[index]
    with pytest.raises(ValidationError):
        PlanUpdate.model_validate(body)


def test_duplicate_item_ids_refused() -> None:
    body = _update()
    body["items"] = body["items"] * 2  # type: ignore[operator]
    with pytest.raises(ValidationError, match="unique"):
        PlanUpdate.model_validate(body)


def test_synthetic_refused_by_context() -> None:
    with pytest.raises(ValidationError, match="synthetic"):
        PlanUpdate.model_validate(_update(), context={"allow_synthetic_ids": False})


def test_category_sensitivity_and_domain() -> None:
    assert Category.HEALTH_MENTAL.sensitivity is Sensitivity.SPECIAL
    assert Category.CHILD_WELFARE_REPORT.sensitivity is Sensitivity.CONFIDENTIAL
    assert Category.EMPLOYMENT.sensitivity is Sensitivity.ORDINARY
    assert Category.HEALTH_CHILD.domain == "health"
    assert Category.EMPLOYMENT.domain == "employment"


def test_family_validation() -> None:
    family = Family.model_validate(
        {
            "family_id": "f1",
            "municipality": "0301",
            "members": [
                {"id": PARENT, "role": "parent", "birth_date": "1980-04-03"},
                {"id": CHILD, "role": "child", "birth_date": "2005-03-12", "guardians": [PARENT]},
            ],
            "team": ["nav", "school"],
            "coordinator": {"agency": "family_centre", "name": "Kari Koordinator"},
            "next_evaluation": dt.date(2027, 1, 1).isoformat(),
        }
    )
    assert family.member(CHILD) is not None
    with pytest.raises(ValidationError, match="twice"):
        Family.model_validate({**family.model_dump(mode="json"), "team": ["nav", "nav"]})


def test_committed_json_schemas_match_models() -> None:
    expected = rendered()
    committed = {p.name: p.read_text(encoding="utf-8") for p in JSON_DIR.glob("*.json")}
    assert set(committed) == set(expected), "run `python -m schemas.export`"
    for name, text in expected.items():
        assert committed[name] == text, (
            f"schemas/json/{name} is stale: run python -m schemas.export"
        )
        assert json.loads(text)["$schema"].startswith("https://json-schema.org/")


def _member(**fields: object) -> dict[str, object]:
    return {"members": [{"id": CHILD, "role": "child", **fields}]}


def _family(**fields: object) -> Family:
    return Family.model_validate(
        {
            "family_id": "f1",
            "municipality": "0301",
            "team": ["school"],
            "coordinator": {"agency": "family_centre", "name": "K"},
            **fields,
        }
    )


def test_a_members_birth_date_comes_from_the_identifier() -> None:
    """Finding 8: a birth date left out is the number's; one that contradicts it is refused."""
    assert _family(**_member()).members[0].birth_date == dt.date(2005, 3, 12)
    assert _family(**_member(birth_date="2005-03-12")).members[0].birth_date == dt.date(2005, 3, 12)
    for wrong in ("2001-01-01", "1905-03-12", "2005-03-13"):
        with pytest.raises(ValidationError) as caught:
            _family(**_member(birth_date=wrong))
        (error,) = caught.value.errors()
        assert error["loc"] == ("members", 0, "birth_date")
        assert "contradicts the birth date the identifier encodes (2005-03-12)" in error["msg"]
