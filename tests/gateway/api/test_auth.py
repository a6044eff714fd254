"""The auth seam over a real HTTP server: bearer tokens, roles, agency binding, problem+json."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends

from gateway.api.app import create_app
from gateway.api.clients import Principal, Role, add_client, revoke_client
from gateway.api.deps import require_agency, require_role
from gateway.api.server import running_server
from gateway.config.instance import Instance, open_instance
from gateway.config.settings import load_settings
from gateway.db import migrate

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


@pytest.fixture
def instance(tmp_path: Path, database_url: str) -> Iterator[Instance]:
    config = tmp_path / "helhet.toml"
    config.write_text('municipality = "0301"\nenvironment = "test"\nrelay_enabled = false\n')
    inst = open_instance(load_settings(config, database_url=database_url))
    migrate.upgrade(inst.engine)
    yield inst
    inst.close()


def test_roles_and_agency_binding(instance: Instance) -> None:
    with instance.engine.begin() as conn:
        nav = add_client(conn, "nav", Role.AGENCY, "nav", now=NOW).token
        coordinator = add_client(conn, "coord", Role.COORDINATOR, None, now=NOW).token
        revoked = add_client(conn, "old", Role.COORDINATOR, None, now=NOW).token
        revoke_client(conn, "old", now=NOW)
    app = create_app(instance)

    @app.get("/probe/{agency}")
    def probe(
        agency: str,
        principal: Annotated[Principal, Depends(require_role("agency", "coordinator"))],
    ) -> dict[str, str]:
        require_agency(principal, agency)
        return {"name": principal.name}

    @app.get("/officer-only")
    def officer(
        principal: Annotated[Principal, Depends(require_role(Role.PRIVACY_OFFICER))],
    ) -> dict[str, str]:
        return {"name": principal.name}

    with running_server(app) as base:

        def get(path: str, token: str | None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return httpx.get(base + path, headers=headers)

        assert get("/probe/nav", nav).json() == {"name": "nav"}
        assert get("/probe/school", coordinator).json() == {"name": "coord"}

        missing = get("/probe/nav", None)
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert get("/probe/nav", "hh_not-a-token").status_code == 401
        assert get("/probe/nav", revoked).status_code == 401

        other_agency = get("/probe/school", nav)
        assert other_agency.status_code == 403
        assert other_agency.json()["errors"][0]["pointer"] == "path:agency"
        wrong_role = get("/officer-only", coordinator)
        assert wrong_role.status_code == 403
        assert "privacy_officer" in wrong_role.json()["detail"]
