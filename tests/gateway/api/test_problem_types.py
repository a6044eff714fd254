"""Problem `type` URIs resolve: every type the gateway answers with is catalogued and served as
a page at /problems/<name> on the gateway itself."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from gateway.api.app import create_app
from gateway.api.problem_types import CATALOGUE
from gateway.api.server import running_server
from gateway.config.instance import Instance

GATEWAY = Path(__file__).resolve().parents[3] / "gateway"


def test_every_type_the_code_names_is_catalogued() -> None:
    named = {
        name
        for path in GATEWAY.rglob("*.py")
        for name in re.findall(r'problem_type\("([a-z-]+)"\)', path.read_text(encoding="utf-8"))
    }
    assert named, "the scan found no problem types"
    assert named <= set(CATALOGUE), named - set(CATALOGUE)


def test_a_refusal_s_type_is_a_page_that_explains_it(instance: Instance) -> None:
    with running_server(create_app(instance, relay=False)) as base:
        refused = httpx.get(base + "/v1/disclosures")
        assert refused.status_code == 401
        kind = refused.json()["type"]
        assert kind == "/problems/unauthorized"
        page = httpx.get(base + kind)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Unauthorized" in page.text and "Authorization: Bearer" in page.text
        listing = httpx.get(base + "/problems").json()["problems"]
        assert [p["type"] for p in listing] == [f"/problems/{name}" for name in CATALOGUE]
        for entry in listing:
            assert httpx.get(base + entry["type"]).status_code == 200
        missing = httpx.get(base + "/problems/nonsense")
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["pointer"] == "path:name"
