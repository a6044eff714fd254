"""Families and their teams (coordinator role): enrol, find by a member, read, change.

Reads are access entries in the log (they show persons' numbers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import ValidationError

from gateway.api import access_log, policy
from gateway.api.access import allow
from gateway.api.clients import Principal
from gateway.api.deps import EngineDep, ServicesDep, SettingsDep, require_role
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem, validation_problem
from gateway.db.engine import reading
from gateway.errors import FamilyError
from gateway.intake import families
from schemas import PersonId

router = APIRouter(prefix="/v1/families", tags=["families"])
FIND_ROUTE = "/v1/families"
READ_ROUTE = "/v1/families/{family_id}"
Coordinator = Annotated[Principal, Depends(require_role(*policy.MANAGE_FAMILIES))]


def _problem(exc: FamilyError) -> Problem:
    return Problem(
        exc.status,
        "Family refused",
        str(exc),
        pointer=exc.pointer,
        type_=problem_type("family"),
    )


def _view(family: Any, version: int) -> dict[str, Any]:
    return {**family.model_dump(mode="json"), "version": version}


@router.post("", status_code=201)
@allow(*policy.MANAGE_FAMILIES)
def create_family(
    body: families.FamilyIn,
    principal: Coordinator,
    engine: EngineDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    """Enrol a family: members (with guardians), the team of agencies, the coordinator."""
    try:
        with engine.begin() as conn:
            family = families.create(
                conn,
                body,
                municipality=settings.municipality,
                by=principal.name,
                now=dt.datetime.now(dt.UTC),
            )
    except FamilyError as exc:
        raise _problem(exc) from exc
    response.headers["Location"] = f"/v1/families/{family.family_id}"
    return {"family_id": family.family_id, "version": 1}


@router.get("")
@allow(*policy.MANAGE_FAMILIES)
def find_families(
    person: Annotated[PersonId, Query(description="a member's identity number")],
    principal: Coordinator,
    services: ServicesDep,
) -> dict[str, Any]:
    """The families a person is a member of (any period), with their versions; the read is
    logged as an access entry about that person."""
    with reading(services.engine) as conn:
        found = families.of_person(conn, person)
    access_log.record_read(
        services.engine,
        client=principal.name,
        read=FIND_ROUTE,
        subject_pseudonym=services.pseudonym(person),
        details={"families": len(found)},
    )
    return {"families": [_view(family, version) for family, version in found]}


@router.get("/{family_id}")
@allow(*policy.MANAGE_FAMILIES)
def read_family(family_id: str, principal: Coordinator, engine: EngineDep) -> dict[str, Any]:
    try:
        with reading(engine) as conn:
            family, version = families.get(conn, family_id)
    except FamilyError as exc:
        raise _problem(exc) from exc
    access_log.record_read(engine, client=principal.name, read=READ_ROUTE, family_id=family_id)
    return _view(family, version)


@router.patch("/{family_id}")
@allow(*policy.MANAGE_FAMILIES)
def change_family(
    family_id: str, body: families.FamilyPatch, principal: Coordinator, engine: EngineDep
) -> dict[str, Any]:
    """Replace members (with guardians), team, coordinator, period or next evaluation."""
    try:
        with engine.begin() as conn:
            family, version = families.patch(conn, family_id, body, now=dt.datetime.now(dt.UTC))
    except FamilyError as exc:
        raise _problem(exc) from exc
    except ValidationError as exc:  # the merged family is inconsistent
        raise validation_problem(exc.errors()) from exc
    return _view(family, version)
