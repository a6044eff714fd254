"""GET /v1/keys: the gateway's signing key as a JWK set, for recipients to verify envelopes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api.access import public
from gateway.api.deps import InstanceDep
from recipient.jwk import signing_jwks

router = APIRouter(tags=["keys"])


@router.get("/v1/keys")
@public()
def signing_keys(instance: InstanceDep) -> dict[str, Any]:
    """Public: the Ed25519 key(s) that sign envelopes and log checkpoints."""
    return signing_jwks([instance.signing_key.public_key()])
