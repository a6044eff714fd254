"""Consent request dates: a date alone is a whole day in the subject's country; a time without a
zone is refused naming the field and saying how to write it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from consent.models import ConsentIn
from tests.helpers.consent import CHILD, MOTHER, cpr

BASE: dict[str, Any] = {
    "subject": CHILD,
    "given_by": [MOTHER],
    "sources": ["*"],
    "recipients": ["*"],
    "categories": ["*"],
    "evidence": {"method": "written", "reference": "form 1"},
}


def test_a_date_is_the_whole_day_in_the_subject_s_country() -> None:
    consent = ConsentIn.model_validate(
        {**BASE, "valid_from": "2027-01-01", "valid_until": "2027-06-30"}
    )
    oslo = ZoneInfo("Europe/Oslo")
    assert consent.valid_from == dt.datetime(2027, 1, 1, tzinfo=oslo)
    assert consent.valid_until == dt.datetime(2027, 7, 1, tzinfo=oslo)  # through 30 June
    danish = cpr(dt.date(2012, 3, 4))
    in_denmark = ConsentIn.model_validate(
        {
            **BASE,
            "subject": danish,
            "given_by": [cpr(dt.date(1980, 1, 1))],
            "valid_until": "2027-06-30",
        }
    )
    assert in_denmark.valid_until == dt.datetime(2027, 7, 1, tzinfo=ZoneInfo("Europe/Copenhagen"))


def test_times_keep_their_zone() -> None:
    consent = ConsentIn.model_validate({**BASE, "valid_until": "2027-06-30T12:00:00Z"})
    assert consent.valid_until == dt.datetime(2027, 6, 30, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize("field", ["valid_from", "valid_until"])
def test_a_time_without_a_zone_is_refused_naming_the_field(field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ConsentIn.model_validate({**BASE, field: "2027-06-30T12:00:00"})
    (error,) = info.value.errors()
    assert error["loc"] == (field,)
    assert "needs a time zone" in error["msg"] and "a date alone" in error["msg"]
