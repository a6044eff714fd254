"""Statutory bases (coordinator and privacy officer): the legal duties and powers to disclose
without consent that this municipality has configured, as decisions apply them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from consent.models import StatutoryBasis
from gateway.api import policy
from gateway.api.access import allow
from gateway.api.clients import Principal
from gateway.api.deps import ServicesDep, require_role

router = APIRouter(prefix="/v1/legal-bases", tags=["legal bases"])
Reader = Annotated[Principal, Depends(require_role(*policy.READ_LEGAL_BASES))]


class LegalBases(BaseModel):
    """The configured statutory bases, by id; decisions under one carry basis statute:<id>."""

    legal_bases: list[StatutoryBasis]


@router.get("", response_model=LegalBases)
@allow(*policy.READ_LEGAL_BASES)
def list_legal_bases(principal: Reader, services: ServicesDep) -> LegalBases:
    return LegalBases(legal_bases=list(services.consents.statutes))
