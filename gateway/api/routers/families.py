"""Families and their teams (coordinator role): enrol, read, change."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import ValidationError

from gateway.api import policy
from gateway.api.clients import Principal
from gateway.api.deps import EngineDep, SettingsDep, require_role
from gateway.api.problems import PROBLEM_TYPE_BASE, Problem, validation_problem
from gateway.errors import FamilyError
from gateway.intake import families

router = APIRouter(prefix="/v1/families", tags=["families"])
Coordinator = Annotated[Principal, Depends(require_role(*policy.MANAGE_FAMILIES))]


def _problem(exc: FamilyError) -> Problem:
    return Problem(
        exc.status,
        "Family refused",
        str(exc),
        pointer=exc.pointer,
        type_=PROBLEM_TYPE_BASE + "family",
    )


def _view(family: Any, version: int) -> dict[str, Any]:
    return {**family.model_dump(mode="json"), "version": version}


@router.post("", status_code=201)
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


@router.get("/{family_id}")
def read_family(family_id: str, principal: Coordinator, engine: EngineDep) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            family, version = families.get(conn, family_id)
    except FamilyError as exc:
        raise _problem(exc) from exc
    return _view(family, version)


@router.patch("/{family_id}")
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
