"""The decision engine on concrete cases: every reason code, guardians and age, statutes."""

from __future__ import annotations

import datetime as dt

import pytest

from consent import (
    AgeRules,
    ConsentIndex,
    InvalidConsent,
    PersonFacts,
    Reason,
    StatutoryBasis,
)
from consent.rules import coming_of_age
from tests.helpers.consent import CHILD, FATHER, MOTHER, T0, cpr, fnr, make_record

CHILD_BORN = dt.date(2010, 5, 17)
FACTS = PersonFacts.of(CHILD, CHILD_BORN, [MOTHER, FATHER])
OSLO = dt.timezone(dt.timedelta(hours=2))  # CEST, in force on 17 May

DUTY = StatutoryBasis(
    id="no-bvl-13-2",
    law="barnevernsloven",
    chapter="13",
    section="§ 13-2",
    description="Opplysningsplikt til barnevernstjenesten",
    sources=["school", "health"],
    recipients=["child_welfare"],
    categories=["*"],
    purpose="*",
)


def ask(index: ConsentIndex, category: str = "education.support", **kw: object):
    args: dict[str, object] = {
        "subject": CHILD,
        "source": "school",
        "recipient": "health",
        "category": category,
        "purpose": "family_plan",
        "at": T0,
        "facts": FACTS,
    }
    args.update(kw)
    return index.decide(**args)  # type: ignore[arg-type]


def index_of(*records, statutes=(), rules=None) -> ConsentIndex:
    index = ConsentIndex(statutes=statutes, rules=rules)
    for record in records:
        index.add(record)
    return index


def test_no_consent_denies_by_default() -> None:
    decision = ask(ConsentIndex())
    assert (decision.permit, decision.reason, decision.basis) == (False, Reason.NO_CONSENT, None)


def test_a_covering_consent_by_both_guardians_permits_with_its_basis() -> None:
    record = make_record()
    decision = ask(index_of(record))
    assert decision.permit
    assert decision.reason is Reason.PERMITTED_BY_CONSENT
    assert decision.basis == f"consent:{record.consent_id}@1"
    assert (decision.consent_id, decision.consent_version) == (record.consent_id, 1)


@pytest.mark.parametrize(
    ("field", "value", "request_field", "asked"),
    [
        ("sources", ["nav"], "source", "school"),
        ("recipients", ["nav"], "recipient", "health"),
        ("categories", ["employment"], "category", "education.support"),
        ("purpose", "housing_plan", "purpose", "family_plan"),
    ],
)
def test_a_consent_that_does_not_cover_the_request_is_out_of_scope(
    field: str, value: object, request_field: str, asked: str
) -> None:
    decision = ask(index_of(make_record(**{field: value})), **{request_field: asked})
    assert not decision.permit
    assert decision.reason is Reason.OUT_OF_SCOPE


def test_period_start_is_inclusive_and_end_exclusive() -> None:
    start = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    end = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    index = index_of(make_record(valid_from=start, valid_until=end))
    assert ask(index, at=start - dt.timedelta(microseconds=1)).reason is Reason.NOT_YET_VALID
    assert ask(index, at=start).permit
    assert ask(index, at=end - dt.timedelta(microseconds=1)).permit
    assert ask(index, at=end).reason is Reason.EXPIRED


def test_the_latest_version_counts_whatever_the_order_it_arrives_in() -> None:
    v1 = make_record()
    v2 = make_record(consent_id=v1.consent_id, version=2, status="withdrawn")
    for order in ((v1, v2), (v2, v1)):
        decision = ask(index_of(*order))
        assert (decision.permit, decision.reason) == (False, Reason.WITHDRAWN)
        assert decision.basis == f"consent:{v1.consent_id}@2"


def test_a_restriction_denies_even_where_another_consent_permits() -> None:
    broad = make_record(categories=["*"])
    narrow = make_record(
        categories=["education.support"],
        restrictions=[{"recipients": ["school"], "categories": ["health.mental"]}],
    )
    index = index_of(broad, narrow)
    denied = ask(index, category="health.mental", source="health", recipient="school")
    assert (denied.permit, denied.reason) == (False, Reason.RESTRICTED)
    assert denied.consent_id == narrow.consent_id
    # Other recipients and categories are unaffected.
    assert ask(index, category="health.mental", source="health", recipient="nav").permit
    assert ask(index, category="education.support", source="health", recipient="school").permit


def test_a_restriction_in_an_expired_consent_no_longer_applies() -> None:
    broad = make_record()
    old = make_record(
        valid_until=dt.datetime(2025, 2, 1, tzinfo=dt.UTC),
        restrictions=[{"recipients": ["*"], "categories": ["*"]}],
    )
    assert ask(index_of(broad, old)).permit


def test_below_the_age_every_recorded_guardian_must_have_consented() -> None:
    only_mother = make_record(given_by=[MOTHER])
    decision = ask(index_of(only_mother))
    assert (decision.permit, decision.reason) == (False, Reason.GUARDIAN_MISSING)
    # The child's own consent does not replace a guardian's below the age.
    child_and_mother = make_record(given_by=[CHILD, MOTHER])
    assert ask(index_of(child_and_mother)).reason is Reason.GUARDIAN_MISSING
    # With only the mother recorded as guardian, her consent is enough.
    sole = PersonFacts.of(CHILD, CHILD_BORN, [MOTHER])
    assert ask(index_of(only_mother), facts=sole).permit


def test_a_child_without_recorded_guardians_cannot_be_consented_for() -> None:
    orphan = PersonFacts.of(CHILD, CHILD_BORN, [])
    decision = ask(index_of(make_record(given_by=[CHILD])), facts=orphan)
    assert decision.reason is Reason.GUARDIAN_MISSING


def test_in_norway_health_is_decided_by_the_young_person_from_16() -> None:
    sixteen = dt.datetime(2026, 5, 17, 0, 0, tzinfo=OSLO)  # local midnight of the birthday
    guardians = index_of(make_record(given_by=[MOTHER, FATHER]))
    own = index_of(make_record(given_by=[CHILD]))
    eve = sixteen - dt.timedelta(microseconds=1)
    assert ask(guardians, "health.mental", at=eve).permit
    assert ask(guardians, "health.mental", at=sixteen).reason is Reason.SUBJECT_MUST_CONSENT
    assert ask(own, "health.mental", at=eve).reason is Reason.GUARDIAN_MISSING
    assert ask(own, "health.mental", at=sixteen).permit
    # Other domains stay with the guardians until 18.
    assert ask(guardians, "education.support", at=sixteen).permit
    assert ask(own, "education.support", at=sixteen).reason is Reason.GUARDIAN_MISSING


def test_in_denmark_health_is_decided_by_the_young_person_from_15() -> None:
    born = dt.date(2011, 1, 10)
    child = cpr(born)
    facts = PersonFacts.of(child, born, [MOTHER])
    assert facts.jurisdiction == "DK"
    index = index_of(make_record(subject=child, given_by=[MOTHER]))
    midnight = dt.datetime(2026, 1, 10, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    before = ask(
        index, "health.child", subject=child, facts=facts, at=midnight - dt.timedelta(0, 1)
    )
    assert before.permit
    after = ask(index, "health.child", subject=child, facts=facts, at=midnight)
    assert after.reason is Reason.SUBJECT_MUST_CONSENT


def test_age_rules_come_from_configuration() -> None:
    rules = AgeRules(default=18, overrides={("NO", "education"): 15})
    index = index_of(make_record(given_by=[CHILD]), rules=rules)
    fifteen = dt.datetime(2025, 5, 17, 12, tzinfo=dt.UTC)
    assert ask(index, "education.support", at=fifteen).permit
    assert ask(index, "health.mental", at=fifteen).reason is Reason.GUARDIAN_MISSING
    with pytest.raises(InvalidConsent):
        AgeRules(overrides={("SE", "health"): 15})


def test_leap_day_birthdays_come_of_age_on_1_march() -> None:
    assert coming_of_age(dt.date(2008, 2, 29), 16) == dt.date(2024, 2, 29)
    assert coming_of_age(dt.date(2008, 2, 29), 17) == dt.date(2025, 3, 1)


def test_a_statutory_duty_permits_without_consent_and_despite_a_restriction() -> None:
    restricted = make_record(restrictions=[{"recipients": ["*"], "categories": ["*"]}])
    index = index_of(restricted, statutes=[DUTY])
    decision = ask(index, "child_welfare.report", recipient="child_welfare")
    assert decision.permit
    assert (decision.reason, decision.basis) == (Reason.PERMITTED_BY_STATUTE, "statute:no-bvl-13-2")
    assert decision.statute_id == "no-bvl-13-2"
    # Outside its scope the statute does nothing.
    assert ask(index, recipient="nav").reason is Reason.RESTRICTED
    assert not ask(ConsentIndex(statutes=[DUTY]), source="nav", recipient="child_welfare").permit


def test_the_coordinator_is_a_source_consents_name_or_cover_with_a_wildcard() -> None:
    named = make_record(sources=["coordinator"], categories=["plan.goal"])
    assert ask(index_of(named), "plan.goal", source="coordinator").permit
    assert ask(index_of(named), "plan.goal", source="school").reason is Reason.OUT_OF_SCOPE
    assert ask(index_of(make_record()), "plan.goal", source="coordinator").permit  # sources "*"
    # A statute for "every source" means every agency: the coordinator's plan is not covered.
    everyone = DUTY.model_copy(update={"sources": ["*"]})
    index = ConsentIndex(statutes=[everyone])
    assert ask(index, "plan.goal", source="nav", recipient="child_welfare").permit
    assert not ask(index, "plan.goal", source="coordinator", recipient="child_welfare").permit
    with pytest.raises(ValueError, match="recipients"):
        make_record(recipients=["coordinator"])


def test_a_statute_with_a_purpose_applies_to_that_purpose_only() -> None:
    scoped = DUTY.model_copy(update={"purpose": "child_protection"})
    index = ConsentIndex(statutes=[scoped])
    assert ask(index, recipient="child_welfare", purpose="child_protection").permit
    assert not ask(index, recipient="child_welfare").permit
    assert index.statutes == (scoped,)


def test_a_consent_permits_before_a_statute_is_cited() -> None:
    record = make_record()
    decision = ask(index_of(record, statutes=[DUTY]), recipient="child_welfare")
    assert decision.basis == f"consent:{record.consent_id}@1"


def test_decide_many_answers_each_category_in_order() -> None:
    index = index_of(make_record(given_by=[MOTHER, FATHER], categories=["education.support"]))
    answers = index.decide_many(
        CHILD, "school", "health", ["health.mental", "education.support"], "family_plan", T0, FACTS
    )
    assert [a.reason for a in answers] == [Reason.OUT_OF_SCOPE, Reason.PERMITTED_BY_CONSENT]


def test_the_most_telling_reason_wins_and_ties_go_to_the_lowest_id() -> None:
    withdrawn = make_record(consent_id="b", version=2, status="withdrawn")
    unsigned = make_record(consent_id="c", given_by=[MOTHER])
    expired = make_record(consent_id="a", valid_until=dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    decision = ask(index_of(withdrawn, unsigned, expired))
    assert (decision.reason, decision.consent_id) == (Reason.GUARDIAN_MISSING, "c")
    two = index_of(make_record(consent_id="z", given_by=[MOTHER]), unsigned)
    assert ask(two).consent_id == "c"


def test_bad_requests_are_refused() -> None:
    index = index_of(make_record())
    with pytest.raises(InvalidConsent) as caught:
        ask(index, category="health.dental")
    assert caught.value.field == "category"
    with pytest.raises(InvalidConsent):
        ask(index, at=dt.datetime(2025, 3, 1, 12))
    other = PersonFacts.of(fnr(dt.date(2012, 1, 1)), dt.date(2012, 1, 1), [MOTHER])
    with pytest.raises(InvalidConsent):
        ask(index, facts=other)


def test_the_index_counts_consents_not_versions() -> None:
    v1 = make_record()
    index = index_of(v1, make_record(consent_id=v1.consent_id, version=2), make_record())
    assert len(index) == 2
    assert index.consents_of(CHILD)[0] == (v1.consent_id, 2)


@pytest.mark.parametrize("reason", [Reason.PERMITTED_BY_CONSENT, Reason.RESTRICTED])
def test_the_engines_fast_decisions_equal_validated_ones(reason: Reason) -> None:
    from consent.engine import consent_decision
    from consent.models import Decision

    fast = consent_decision("c-1", 3, reason)
    slow = Decision(
        permit=reason is Reason.PERMITTED_BY_CONSENT,
        reason=reason,
        basis="c-1".join(["consent:", "@3"]),
        consent_id="c-1",
        consent_version=3,
    )
    assert fast == slow
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
    assert Decision.model_validate_json(fast.model_dump_json()) == slow
    with pytest.raises(Exception, match="frozen"):
        fast.permit = not fast.permit  # type: ignore[misc]


def test_a_draft_counts_as_if_recorded_without_entering_the_index() -> None:
    index = index_of()
    draft = make_record(consent_id="draft-preview", categories=["education.support"])
    args = ("school", "health", ["education.support", "health.child"], "family_plan", T0, FACTS)
    before = index.decide_many(CHILD, *args)
    as_if = index.decide_many_as_if([draft.model_dump(mode="json")], CHILD, *args)
    assert [d.reason for d in before] == [Reason.NO_CONSENT, Reason.NO_CONSENT]
    assert [d.reason for d in as_if] == [Reason.PERMITTED_BY_CONSENT, Reason.OUT_OF_SCOPE]
    assert as_if[0].basis == "consent:draft-preview@1"
    # ... exactly what the engine answers once the same consent is recorded, and the index
    # itself is unchanged by the preview.
    assert index.decide_many(CHILD, *args) == before
    assert index_of(draft).decide_many(CHILD, *args) == as_if
