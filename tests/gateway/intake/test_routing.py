"""Routing: subject -> the families active today -> each team agency, never back to the source;
a person in two families is served in both; facts gather every guardian recorded anywhere."""

from __future__ import annotations

import datetime as dt

from gateway.intake import routing
from gateway.intake.services import Services
from schemas import Agency, Responsible
from tests.helpers.intake import enrol, person, plan_update

TODAY = dt.date.today()


def test_enrolments_follow_the_family_period(services: Services) -> None:
    child, born = person(10)
    member = [{"id": child, "role": "child", "birth_date": born.isoformat()}]
    current = enrol(services, member, ["nav", "school"])
    ended = enrol(
        services,
        member,
        ["health"],
        period={"start": "2020-01-01", "end": TODAY.isoformat()},  # the end is exclusive
    )
    future = enrol(
        services,
        member,
        ["housing"],
        period={"start": (TODAY + dt.timedelta(days=1)).isoformat()},
    )
    with services.engine.connect() as conn:
        found = routing.enrolments(conn, child, TODAY)
        yesterday = routing.enrolments(conn, child, TODAY - dt.timedelta(days=1))
        tomorrow = routing.enrolments(conn, child, TODAY + dt.timedelta(days=1))
        nobody = routing.enrolments(conn, person(30)[0], TODAY)
    assert found == [routing.Enrolment(current, ("nav", "school"))]
    assert {e.family_id for e in yesterday} == {current, ended}
    assert {e.family_id for e in tomorrow} == {current, future}
    assert nobody == []


def test_person_facts_gather_guardians_from_every_family(services: Services) -> None:
    child, born = person(9)
    mother, mother_born = person(38)
    father, father_born = person(40)
    enrol(
        services,
        [
            {"id": mother, "role": "parent", "birth_date": mother_born.isoformat()},
            {"id": child, "role": "child", "birth_date": born.isoformat(), "guardians": [mother]},
        ],
        ["nav"],
    )
    enrol(
        services,
        [
            {"id": father, "role": "parent", "birth_date": father_born.isoformat()},
            {"id": child, "role": "child", "birth_date": born.isoformat(), "guardians": [father]},
        ],
        ["school"],
    )
    with services.engine.connect() as conn:
        facts = routing.person_facts(conn, child)
        unknown = routing.person_facts(conn, person(12)[0])
    assert facts is not None and unknown is None
    assert facts.birth_date == born
    assert facts.guardians == frozenset({mother, father})


def test_targets_reach_every_team_agency_but_the_source(services: Services) -> None:
    child, born = person(15)
    sibling, sibling_born = person(12)
    outsider = person(16)[0]
    first = enrol(
        services,
        [
            {"id": child, "role": "child", "birth_date": born.isoformat()},
            {"id": sibling, "role": "child", "birth_date": sibling_born.isoformat()},
        ],
        ["nav", "school", "health"],
    )
    second = enrol(
        services, [{"id": child, "role": "child", "birth_date": born.isoformat()}], ["housing"]
    )
    update = plan_update("school", child, ["education.attendance", "education.support"])
    other = plan_update("school", outsider, ["education.attendance"])
    with services.engine.connect() as conn:
        targets = list(
            routing.targets(services.families.refresh(conn), [update, other], "school", TODAY)
        )
    assert sorted((t.family_id, t.recipient) for t in targets) == sorted(
        [(first, "nav"), (first, "health"), (second, "housing")]
    )
    for target in targets:
        assert target.subject == child and target.update is update
        assert [i.item_id for i in target.items] == ["i0", "i1"]
        assert target.facts.birth_date == born


def test_a_measures_details_go_only_to_the_responsible_agency(services: Services) -> None:
    parent, born = person(40)
    enrol(
        services,
        [{"id": parent, "role": "parent", "birth_date": born.isoformat()}],
        ["nav", "school"],
    )
    update = plan_update("coordinator", parent, ["plan.measure", "plan.goal", "plan.measure"])
    nav_measure = update.items[0].model_copy(update={"responsible": Responsible(agency=Agency.NAV)})
    update = update.model_copy(update={"items": [nav_measure, *update.items[1:]]})
    with services.engine.connect() as conn:
        targets = list(
            routing.targets(services.families.refresh(conn), [update], "coordinator", TODAY)
        )
    routed = {t.recipient: [i.item_id for i in t.items] for t in targets}
    # The second measure names no responsible agency: it goes to nobody.
    assert routed == {"nav": ["i0", "i1"], "school": ["i1"]}
