"""Finding 2: the token is checked before any body is read, and one body limit holds for every
route, enforced while the body streams in (413 problem+json). Raw sockets show what the server
does before the body has arrived."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.gateway import Gateway

BIG = 200 * 1024 * 1024  # the probe's 200 MB


def _exchange(base_url: str, head: str, body: bytes = b"", timeout: float = 10.0) -> bytes:
    """Send a request head (and maybe part of a body) and read whatever the server answers
    before we send anything more; the server must not wait for the rest of the body."""
    url = urllib.parse.urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not _complete(answer):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {timeout} s: the server waited for the body")
    return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _problem(answer: bytes) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    parsed: dict[str, object] = json.loads(body)
    return parsed


ROUTES = [
    ("POST", "/v1/families"),
    ("POST", "/v1/decisions"),
    ("PATCH", "/v1/families/abc"),
    ("POST", "/v1/consents/abc/withdraw"),
    ("POST", "/v1/records/nav"),
    ("POST", "/v1/consents"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_token_is_refused_before_the_body_is_read(api: Gateway, method: str, path: str) -> None:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {BIG}\r\n"
    )
    started = time.monotonic()
    answer = _exchange(api.base_url, head, b'{"members": [')
    assert _status(answer) == 401, answer[:300]
    assert _problem(answer)["title"] == "Unauthorized"
    assert time.monotonic() - started < 5
    head = head.replace("\r\nContent-Type", "\r\nAuthorization: Bearer hh_forged\r\nContent-Type")
    assert _status(_exchange(api.base_url, head, b"{")) == 401


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_oversized_body_is_413_by_its_declared_length(
    api: Gateway, method: str, path: str
) -> None:
    who = "nav" if "/records/" in path else "coordinator"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.tokens[who]}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n"
    )
    answer = _exchange(api.base_url, head, b"{")
    assert _status(answer) == 413, answer[:300]
    problem = _problem(answer)
    assert problem["title"] == "Body too large"


def _chunks(total: int, sent: list[int]) -> Iterator[bytes]:
    chunk = b" " * 65536
    while sent[0] < total:
        sent[0] += len(chunk)
        yield chunk


def test_a_streamed_body_is_cut_off_at_the_limit(api: Gateway) -> None:
    """Without Content-Length (chunked), the limit holds while streaming: the default limit
    for ordinary routes, the larger max_body_bytes for records."""
    limit = api.settings.max_request_bytes
    sent = [0]
    with api.client("coordinator") as c:
        try:
            response = c.post(
                "/v1/families",
                content=_chunks(50 * limit, sent),
                headers={"Content-Type": "application/json"},
            )
        except httpx.TransportError:  # the server closed while we were still sending
            response = None
    if response is not None:
        assert response.status_code == 413
        assert response.json()["detail"] == f"the body is at most {limit} bytes"
    assert sent[0] < 50 * limit  # it stopped reading long before the end
    with api.client("nav") as c:
        response = c.post(
            "/v1/records/nav",
            content=b"[" + b" " * (2 * limit) + b"]",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422  # past the ordinary limit, within the records' one


def test_healthz_stays_public_and_a_get_needs_no_body(api: Gateway) -> None:
    assert httpx.get(api.base_url + "/healthz").json() == {"status": "ok"}
    with api.client("coordinator") as c:
        assert c.get("/v1/legal-bases").status_code == 200
