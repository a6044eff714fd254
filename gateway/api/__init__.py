"""The HTTP API: the app (app.py), its wiring (deps.py), problem+json (problems.py), clients and
bearer tokens (clients.py), access entries (access_log.py), request bodies (bodies.py), rate
limits (ratelimit.py), operator metrics (metrics.py), serving (server.py), and one router per
resource (routers/).
"""
