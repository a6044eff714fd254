"""Request bodies read as a stream with a size limit: 413 problem+json once the limit is passed,
before the rest is read (a declared Content-Length over the limit is refused at once). The
request guard applies one limit to every route; a route may read with a tighter one.
"""

from __future__ import annotations

import re
from itertools import accumulate

from fastapi import Request

from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem


def too_large(limit: int, what: str) -> Problem:
    return Problem(
        413,
        "Body too large",
        f"{what} is at most {limit} bytes",
        type_=problem_type("too-large"),
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


# --- nesting depth ----------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON (or NDJSON) text, without parsing it.

    Strings are cut out first (brackets inside them do not count); what remains is counted in
    C loops, so a 10 MB body costs milliseconds. Malformed JSON may over-count; it is refused
    by its parser anyway.
    """
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def is_json(content_type: str) -> bool:
    """application/json, any +json type (FHIR, plan-update) and NDJSON."""
    media = content_type.partition(";")[0].strip().lower()
    return media.endswith(("/json", "+json", "/x-ndjson"))


def too_deep(limit: int) -> Problem:
    return Problem(
        422,
        "Body nested too deeply",
        f"arrays and objects in the body nest at most {limit} levels deep",
        type_=problem_type("too-deep"),
        pointer="",
    )
