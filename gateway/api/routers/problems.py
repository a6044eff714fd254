"""GET /problems and /problems/{name} (public): what each problem `type` means, for people."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from gateway.api.access import public
from gateway.api.problem_types import CATALOGUE, problem_type
from gateway.api.problems import Problem

router = APIRouter(prefix="/problems", tags=["problems"])


@router.get("")
@public()
def list_problem_types() -> dict[str, Any]:
    """Every problem type the API answers with: its URI, title and explanation."""
    return {
        "problems": [
            {"type": problem_type(p.name), "title": p.title, "explanation": p.explanation}
            for p in CATALOGUE.values()
        ]
    }


@router.get("/{name}", response_class=HTMLResponse)
@public()
def explain_problem_type(name: Annotated[str, Path(max_length=40)]) -> HTMLResponse:
    """A page explaining one problem type (the target of its `type` URI)."""
    found = CATALOGUE.get(name)
    if found is None:
        raise Problem(404, "No such problem type", f"no problem type {name!r}", pointer="path:name")
    title = html.escape(found.title)
    return HTMLResponse(
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title} — helhet</title></head>\n'
        f"<body><main><h1>{title}</h1>\n<p>{html.escape(found.explanation)}</p>\n"
        f"<p><code>type</code>: <code>{html.escape(problem_type(name))}</code></p>\n"
        '<p><a href="/problems">All problem types</a></p></main></body></html>\n'
    )
