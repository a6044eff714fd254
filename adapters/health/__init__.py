"""Health: FHIR R4 Bundles (Patient, CarePlan, Encounter, Condition, Observation) -> PlanUpdates.

The category mapping is configurable (HealthAdapter(category_map=…)); docs/adapters/health.md.
"""

from adapters.health.adapter import HealthAdapter
from adapters.health.mapping import DEFAULT_CATEGORY_MAP

__all__ = ["DEFAULT_CATEGORY_MAP", "HealthAdapter"]
