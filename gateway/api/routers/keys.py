"""GET /v1/keys: the gateway's signing keys (current and retired) as a JWK set, for recipients
to verify envelopes and anyone to verify checkpoints."""

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
    """Public: the Ed25519 keys that sign envelopes and log checkpoints: the current one
    first, then every key retired by a rotation (what it signed still verifies)."""
    return signing_jwks(instance.signing_public_keys)
