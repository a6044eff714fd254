"""Property tests of the decision engine (hypothesis): default deny, restrictions, withdrawal
and expiry, the birthday of self-determination, and independence of recording order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from consent import ConsentIndex, ConsentRecord, ConsentStatus, PersonFacts, Reason
from consent.rules import AgeRules, coming_of_age
from schemas import Agency, Category
from tests.helpers.consent import CHILD, FATHER, MOTHER, make_record

AGENCIES = [a.value for a in Agency]
CATEGORIES = [c.value for c in Category]
PURPOSES = ["family_plan", "housing_plan"]
BORN = dt.date(2010, 5, 17)
FACTS = PersonFacts.of(CHILD, BORN, [MOTHER, FATHER])
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EXAMPLES = settings(max_examples=60)


def scope(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(
        st.just(["*"]), st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)
    )


hours = st.integers(min_value=0, max_value=24 * 400)


@st.composite
def consent_docs(draw: st.DrawFn, consent_id: str) -> dict[str, Any]:
    start = draw(hours)
    length = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=24 * 400)))
    restrictions = draw(
        st.lists(
            st.fixed_dictionaries({"recipients": scope(AGENCIES), "categories": scope(CATEGORIES)}),
            max_size=2,
        )
    )
    return {
        "consent_id": consent_id,
        "version": draw(st.integers(min_value=1, max_value=3)),
        "status": draw(st.sampled_from(["active", "active", "withdrawn"])),
        "sources": draw(scope(AGENCIES)),
        "recipients": draw(scope(AGENCIES)),
        "categories": draw(scope(CATEGORIES)),
        "purpose": draw(st.sampled_from(PURPOSES)),
        "given_by": draw(
            st.sampled_from([[MOTHER, FATHER], [MOTHER], [CHILD], [CHILD, MOTHER, FATHER]])
        ),
        "valid_from": BASE + dt.timedelta(hours=start),
        "valid_until": None if length is None else BASE + dt.timedelta(hours=start + length),
        "restrictions": restrictions,
    }


def records_from(docs: list[dict[str, Any]]) -> list[ConsentRecord]:
    return [make_record(**doc) for doc in docs]


@st.composite
def populations(draw: st.DrawFn) -> list[ConsentRecord]:
    """Several consents, some with several versions (same id, different versions)."""
    n = draw(st.integers(min_value=0, max_value=5))
    docs = [draw(consent_docs(f"c{i}")) for i in range(n)]
    extra = [draw(consent_docs(doc["consent_id"])) for doc in docs if draw(st.booleans())]
    versions = {(d["consent_id"], d["version"]) for d in docs}
    extra = [d for d in extra if (d["consent_id"], d["version"]) not in versions]
    return records_from(docs + extra)


requests = st.fixed_dictionaries(
    {
        "source": st.sampled_from(AGENCIES),
        "recipient": st.sampled_from(AGENCIES),
        "category": st.sampled_from(CATEGORIES),
        "purpose": st.sampled_from(PURPOSES),
        "at": st.builds(lambda h: BASE + dt.timedelta(hours=h), hours),
    }
)


def decide(index: ConsentIndex, req: dict[str, Any], facts: PersonFacts = FACTS):
    return index.decide(CHILD, facts=facts, **req)


def build(records: list[ConsentRecord]) -> ConsentIndex:
    index = ConsentIndex()
    for record in records:
        index.add(record)
    return index


def latest(records: list[ConsentRecord]) -> dict[str, ConsentRecord]:
    out: dict[str, ConsentRecord] = {}
    for r in records:
        if r.consent_id not in out or out[r.consent_id].version < r.version:
            out[r.consent_id] = r
    return out


@EXAMPLES
@given(requests)
def test_default_deny(req: dict[str, Any]) -> None:
    decision = decide(ConsentIndex(), req)
    assert not decision.permit
    assert decision.reason is Reason.NO_CONSENT


@EXAMPLES
@given(populations(), requests)
def test_a_permit_always_rests_on_an_active_covering_consent_in_its_period(
    records: list[ConsentRecord], req: dict[str, Any]
) -> None:
    decision = decide(build(records), req)
    if not decision.permit:
        return
    basis = latest(records)[decision.consent_id or ""]
    assert decision.consent_version == basis.version
    assert basis.status == "active"
    assert basis.valid_from <= req["at"]
    assert basis.valid_until is None or req["at"] < basis.valid_until
    assert basis.purpose == req["purpose"]
    for name, value in (("sources", "source"), ("recipients", "recipient")):
        assert getattr(basis, name) == ["*"] or req[value] in getattr(basis, name)


@EXAMPLES
@given(populations(), requests, st.data())
def test_any_restriction_covering_a_request_denies_it(
    records: list[ConsentRecord], req: dict[str, Any], data: st.DataObject
) -> None:
    at = req["at"]
    restricting = make_record(
        consent_id="r",
        sources=data.draw(st.sampled_from([["*"], [req["source"]]])),
        purpose=req["purpose"],
        valid_from=at - dt.timedelta(hours=data.draw(st.integers(0, 100))),
        valid_until=data.draw(st.sampled_from([None, at + dt.timedelta(seconds=1)])),
        given_by=data.draw(st.sampled_from([[MOTHER, FATHER], [CHILD]])),
        restrictions=[
            {
                "recipients": data.draw(st.sampled_from([["*"], [req["recipient"]]])),
                "categories": data.draw(st.sampled_from([["*"], [req["category"]]])),
            }
        ],
    )
    decision = decide(build([*records, restricting]), req)
    assert not decision.permit
    assert decision.reason is Reason.RESTRICTED


@EXAMPLES
@given(populations(), requests)
def test_withdrawn_or_expired_consents_never_permit(
    records: list[ConsentRecord], req: dict[str, Any]
) -> None:
    at = req["at"]
    dead = [
        r.model_copy(update={"status": ConsentStatus.WITHDRAWN})
        if r.valid_until is None or r.valid_until > at
        else r
        for r in records
    ]
    decision = decide(build(dead), req)
    assert not decision.permit
    assert decision.reason not in (Reason.PERMITTED_BY_CONSENT, Reason.PERMITTED_BY_STATUTE)


@EXAMPLES
@given(
    born=st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2012, 12, 31)),
    jurisdiction=st.sampled_from(["NO", "DK"]),
    category=st.sampled_from(CATEGORIES),
    seconds=st.integers(min_value=0, max_value=86_399),
)
def test_on_the_birthday_of_self_determination_guardians_alone_stop_counting(
    born: dt.date, jurisdiction: str, category: str, seconds: int
) -> None:
    child = CHILD
    facts = PersonFacts(child, born, frozenset({MOTHER, FATHER}), jurisdiction)  # type: ignore[arg-type]
    rules = AgeRules()
    age = rules.age_for(jurisdiction, Category(category).domain)
    birthday = coming_of_age(born, age)
    tz = {"NO": "Europe/Oslo", "DK": "Europe/Copenhagen"}[jurisdiction]
    zone = ZoneInfo(tz)
    midnight = dt.datetime.combine(birthday, dt.time(0), tzinfo=zone)
    on_the_day = (midnight.astimezone(dt.UTC) + dt.timedelta(seconds=seconds)).astimezone(zone)
    assert on_the_day.date() == birthday or seconds >= 82_800  # DST days are 23 h long
    day_before = dt.datetime.combine(birthday - dt.timedelta(days=1), dt.time(23, 59), tzinfo=zone)
    record = make_record(
        given_by=[MOTHER, FATHER], valid_from=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    index = build([record])
    args = {"source": "school", "recipient": "health", "category": category}
    assert index.decide(child, purpose="family_plan", at=day_before, facts=facts, **args).permit
    after = index.decide(child, purpose="family_plan", at=on_the_day, facts=facts, **args)
    assert not after.permit
    assert after.reason is Reason.SUBJECT_MUST_CONSENT


@EXAMPLES
@given(populations(), st.lists(requests, min_size=1, max_size=5), st.randoms())
def test_decisions_do_not_depend_on_recording_order(
    records: list[ConsentRecord], reqs: list[dict[str, Any]], random: Any
) -> None:
    shuffled = list(records)
    random.shuffle(shuffled)
    first, second = build(records), build(shuffled)
    for req in reqs:
        assert decide(first, req) == decide(second, req)
