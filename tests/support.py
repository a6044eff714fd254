"""Test support: a real HTTP server (uvicorn in a thread on a free loopback port)."""

from gateway.server import running_server

__all__ = ["running_server"]
