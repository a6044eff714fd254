"""Housing: bostøtte (housing benefit) cases and payments, living situation, eviction steps.

Mapping tables in adapters.housing.mapping; documented in docs/adapters/housing.md.
"""

from adapters.housing.adapter import HousingAdapter

__all__ = ["HousingAdapter"]
