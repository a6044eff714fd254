"""Decisions: may this category about this subject go from source to recipient, now? Agency
clients ask only as the source and hear permit/deny and the reason, never the basis.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from consent.models import DecisionAnswer, DecisionRequest
from gateway.api import policy
from gateway.api.access import allow
from gateway.api.clients import Principal, Role
from gateway.api.deps import ServicesDep, require_role
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem
from gateway.db.engine import reading
from gateway.intake import routing

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])
Asker = Annotated[Principal, Depends(require_role(*policy.ASK_DECISION))]


class DecisionAnswers(BaseModel):
    """One answer per category asked, in the order asked, at the moment `at`."""

    at: dt.datetime
    answers: list[DecisionAnswer]


def _not_on_team(agency: str) -> Problem:
    """An agency's answer about a subject in no family of its team: the same whether the
    subject is enrolled elsewhere or not at all, so it learns nothing about other families."""
    return Problem(
        404,
        "Subject not enrolled",
        f"the subject is in no family whose team includes {agency}",
        type_=problem_type("not-enrolled"),
        pointer="/subject",
    )


@router.post("", response_model=DecisionAnswers)
@allow(*policy.ASK_DECISION)
def decide(body: DecisionRequest, principal: Asker, services: ServicesDep) -> JSONResponse:
    """Permit or deny, per category, as the gateway would decide when forwarding.

    The subject must be enrolled in a family (the decision needs their birth date and
    guardians): 404 otherwise. An agency client may ask only with itself as `source` (403),
    only about subjects in a family whose team it is on (404 otherwise, the same answer as for
    a subject in no family), and its answers carry no `basis`: which consent or statute decided
    stays with the coordinator.
    """
    if principal.role is Role.AGENCY and body.source.value != principal.agency:
        raise Problem(
            403,
            "Forbidden",
            f"the client is bound to agency {principal.agency!r} and may ask only as that source",
            type_=problem_type("forbidden"),
            pointer="/source",
        )
    at = body.at or dt.datetime.now(dt.UTC)
    with reading(services.engine) as conn:
        services.consents.refresh(conn)  # a withdrawal a moment ago counts
        facts = routing.person_facts(conn, body.subject)
        if principal.role is Role.AGENCY and (
            facts is None
            or not routing.on_a_team(conn, body.subject, principal.agency or "", at.date())
        ):
            raise _not_on_team(principal.agency or "")
    if facts is None:
        raise Problem(
            404,
            "Subject not enrolled",
            "the subject is in no family, so nothing about them is forwarded; enrol the family "
            "(with the subject's birth date and guardians) first",
            type_=problem_type("not-enrolled"),
            pointer="/subject",
        )
    decisions = services.consents.decide_many(
        body.subject,
        body.source.value,
        body.recipient.value,
        [c.value for c in body.categories],
        body.purpose,
        at,
        facts,
    )
    reveal_basis = principal.role is not Role.AGENCY
    answers: list[dict[str, Any]] = []
    for category, decision in zip(body.categories, decisions, strict=True):
        answer = DecisionAnswer.of(category, decision).model_dump(mode="json")
        if not reveal_basis or answer["basis"] is None:
            del answer["basis"]
        answers.append(answer)
    return JSONResponse({"at": at.isoformat(), "answers": answers})
