"""NAV: activity-plan cards (aktivitetskort) and §14a decisions -> PlanUpdates.

Mapping tables in adapters.nav.mapping; documented in docs/adapters/nav.md.
"""

from adapters.nav.adapter import NavAdapter

__all__ = ["NavAdapter"]
