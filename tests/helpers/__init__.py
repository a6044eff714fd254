"""Helpers shared by the tests: one module per area; tests import from here, never from
each other.
"""
