"""Errors of the common schema package.

SchemaError is the root; IdentifierError says why a person identifier was refused.
"""


class SchemaError(ValueError):
    """Something does not fit the common family-plan schema."""


class IdentifierError(SchemaError):
    """A person identifier failed its format, date or check-digit test."""
