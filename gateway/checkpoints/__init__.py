"""Signed checkpoints of the disclosure log: on demand and on a schedule (issuer.py)."""
