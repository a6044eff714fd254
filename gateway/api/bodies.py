"""Request bodies read as a stream with a size limit: 413 problem+json once the limit is passed,
before the rest is read (a declared Content-Length over the limit is refused at once). The
request guard applies one limit to every route; a route may read with a tighter one.
"""

from __future__ import annotations

from fastapi import Request

from gateway.api.problems import PROBLEM_TYPE_BASE, Problem


def too_large(limit: int, what: str) -> Problem:
    return Problem(
        413,
        "Body too large",
        f"{what} is at most {limit} bytes",
        type_=PROBLEM_TYPE_BASE + "too-large",
        pointer="",
    )


async def read_body(request: Request, limit: int, what: str = "the body") -> bytes:
    """The whole body, or a 413 Problem as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, what)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise too_large(limit, what)
    return bytes(body)
