"""Alembic migrations for every table of helhet (gateway, consent, audit): one history."""
