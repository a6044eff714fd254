"""Agency adapters: each agency's native format -> schemas.PlanUpdate, pure and without I/O.

The gateway calls `adapters.translate(agency, body, content_type)`; errors are AdapterError.
"""

from adapters.base import Adapter
from adapters.errors import (
    AdapterError,
    BodyTooLarge,
    InvalidIdentifier,
    InvalidRecord,
    MalformedBody,
    UnknownAgency,
    UnsupportedContentType,
)
from adapters.registry import get_adapter, register, supported_content_types, translate

__all__ = [
    "Adapter",
    "AdapterError",
    "BodyTooLarge",
    "InvalidIdentifier",
    "InvalidRecord",
    "MalformedBody",
    "UnknownAgency",
    "UnsupportedContentType",
    "get_adapter",
    "register",
    "supported_content_types",
    "translate",
]
