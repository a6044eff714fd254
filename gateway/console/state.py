"""What the console keeps for the life of the process: its sessions, its sign-in method and the
log verifier, next to the gateway's shared Services. One per app, on `app.state.console`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from fastapi import APIRouter

from gateway.api.clients import Principal
from gateway.console.sessions import SessionStore
from gateway.console.verification import Verifier
from gateway.intake.services import Services


class SignInMethod(Protocol):
    """A way for a person to prove who they are. Its own pages (under /console/sign-in) end in
    `gateway.console.signin.start_session`; the other pages see only the session's Principal.
    """

    name: str

    def router(self) -> APIRouter: ...

    def still_valid(self, engine: sa.Engine, principal: Principal) -> Principal | None:
        """Asked on every page view: the person as they are now, or None to end the session."""
        ...


@dataclass
class Console:
    services: Services
    sessions: SessionStore
    sign_in: SignInMethod
    verifier: Verifier
