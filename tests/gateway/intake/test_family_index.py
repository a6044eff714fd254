"""The in-memory family index: the same answers as the registry's queries, kept current by
change sequence number across processes (two engines, two indexes, one database), and never
holding a change that was rolled back."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gateway.db.engine import create_engine, reading
from gateway.intake import families, routing
from gateway.intake.services import Services
from gateway.plan import lifecycle
from tests.helpers.intake import NOW, enrol, forward, person, plan_update

TODAY = NOW.astimezone(dt.UTC).date()


def _other_process(services: Services) -> Services:
    """A second gateway on the same database: its own engine and its own indexes."""
    engine = create_engine(services.settings.database_url)
    other = Services(dataclasses.replace(services.instance, engine=engine))
    other.load()
    return other


def test_the_index_answers_as_the_registry_does(services: Services) -> None:
    child, born = person(10)
    mother, mother_born = person(38)
    father, father_born = person(40)
    first = enrol(
        services,
        [
            {"id": child, "role": "child", "birth_date": born.isoformat(), "guardians": [mother]},
            {"id": mother, "role": "parent", "birth_date": mother_born.isoformat()},
        ],
        ["nav", "school"],
    )
    enrol(
        services,
        [
            {"id": child, "role": "child", "birth_date": born.isoformat(), "guardians": [father]},
            {"id": father, "role": "parent", "birth_date": father_born.isoformat()},
        ],
        ["housing"],
    )
    ended = (TODAY - dt.timedelta(days=1)).isoformat()
    enrol(
        services,
        [{"id": child, "role": "child", "birth_date": born.isoformat()}],
        ["health"],
        period={"start": "2020-01-01", "end": ended},
    )
    with reading(services.engine) as conn:
        snapshot = services.families.refresh(conn)
        for someone in (child, mother, father, person(30)[0]):
            assert snapshot.enrolments(someone, TODAY) == routing.enrolments(conn, someone, TODAY)
            assert snapshot.person_facts(someone) == routing.person_facts(conn, someone)
    facts = snapshot.person_facts(child)
    assert facts is not None and facts.guardians == frozenset({mother, father})
    assert [e.family_id for e in snapshot.enrolments(child, TODAY)] != []
    assert first in snapshot.teams([first])


def test_another_process_s_changes_are_seen_before_routing(services: Services) -> None:
    other = _other_process(services)
    try:
        young, born = person(19)
        # Enrolled through this process after the other one loaded its index.
        family_id = enrol(
            services,
            [{"id": young, "role": "child", "birth_date": born.isoformat()}],
            ["nav", "school"],
        )
        routes = forward(other, "nav", [plan_update("nav", young, ["employment"])])
        assert {(r.family_id, r.recipient) for r in routes} == {(family_id, "school")}
        # The team changes here; the other process routes by the new team at once.
        with services.engine.begin() as conn:
            families.patch(conn, family_id, families.FamilyPatch(team=["nav", "housing"]), now=NOW)
        routes = forward(other, "nav", [plan_update("nav", young, ["employment"])])
        assert {(r.family_id, r.recipient) for r in routes} == {(family_id, "housing")}
        # An ended enrolment routes nothing; a deleted family leaves the index.
        ended = families.FamilyPatch(period={"start": "2020-01-01", "end": TODAY.isoformat()})
        with services.engine.begin() as conn:
            families.patch(conn, family_id, ended, now=NOW)
        assert forward(other, "nav", [plan_update("nav", young, ["employment"])]) == []
        with services.engine.begin() as conn:
            assert lifecycle.delete(conn, family_id, NOW)
        with reading(other.engine) as conn:
            snapshot = other.families.refresh(conn)
        assert family_id not in snapshot.families and snapshot.person_facts(young) is None
        with reading(services.engine) as conn:
            assert snapshot.seq == services.families.refresh(conn).seq
    finally:
        other.instance.close()


def test_a_change_rolled_back_never_enters_the_index(services: Services) -> None:
    young, born = person(19)
    data = families.FamilyIn.model_validate(
        {
            "members": [{"id": young, "role": "child", "birth_date": born.isoformat()}],
            "team": ["nav", "school"],
            "coordinator": {"agency": "family_centre", "name": "Test Koordinator"},
        }
    )
    before = services.families.seq
    with pytest.raises(RuntimeError), services.engine.begin() as conn:
        families.create(conn, data, municipality="0301", by="coordinator", now=NOW)
        inside = services.families.refresh(conn)
        assert [e.team for e in inside.enrolments(young, TODAY)] == [("nav", "school")]
        raise RuntimeError("roll back")
    assert services.families.seq == before
    assert services.families.snapshot().enrolments(young, TODAY) == []
    with reading(services.engine) as conn:
        assert services.families.refresh(conn).enrolments(young, TODAY) == []
