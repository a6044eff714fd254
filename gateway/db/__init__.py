"""Storage: engines (engine.py), the gateway's tables (tables.py), the outbox's state machine
(outbox.py) and the one Alembic history for every table (migrate.py, migrations/).
"""
