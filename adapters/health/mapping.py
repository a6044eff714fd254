"""Health: identifier systems, FHIR status mappings and the default service -> category map.

docs/adapters/health.md shows the same tables; change both together.
"""

from __future__ import annotations

from schemas import Category, ItemStatus

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
PERSON_SYSTEMS = {FNR_SYSTEM: "NO", DNR_SYSTEM: "NO", CPR_SYSTEM: "DK"}

SERVICE_SYSTEM = "urn:helhet:health-service"
SNOMED = "http://snomed.info/sct"

# Keys are "system|code" or a bare code (matches any system). Looked up, in order, in the
# resource's own service codes (Encounter.serviceType and type, CarePlan.category,
# Observation/Condition.category), then the type of the Organization responsible for it
# (Encounter.serviceProvider, CarePlan.author, Observation.performer, or the resource's
# Encounter). No match: health.general.
DEFAULT_CATEGORY_MAP: dict[str, Category] = {
    f"{SERVICE_SYSTEM}|helsestasjon": Category.HEALTH_CHILD,
    f"{SERVICE_SYSTEM}|skolehelsetjeneste": Category.HEALTH_CHILD,
    f"{SERVICE_SYSTEM}|helsestasjon-ungdom": Category.HEALTH_CHILD,
    f"{SERVICE_SYSTEM}|sundhedsplejerske": Category.HEALTH_CHILD,
    f"{SERVICE_SYSTEM}|boernesundhed": Category.HEALTH_CHILD,
    f"{SERVICE_SYSTEM}|psykisk-helse": Category.HEALTH_MENTAL,
    f"{SERVICE_SYSTEM}|bup": Category.HEALTH_MENTAL,
    f"{SERVICE_SYSTEM}|dps": Category.HEALTH_MENTAL,
    f"{SERVICE_SYSTEM}|psykiatri": Category.HEALTH_MENTAL,
    f"{SERVICE_SYSTEM}|rus": Category.HEALTH_SUBSTANCE,
    f"{SERVICE_SYSTEM}|tsb": Category.HEALTH_SUBSTANCE,
    f"{SERVICE_SYSTEM}|misbrugsbehandling": Category.HEALTH_SUBSTANCE,
    f"{SNOMED}|394537008": Category.HEALTH_CHILD,  # Paediatric specialty
    f"{SNOMED}|394587001": Category.HEALTH_MENTAL,  # Psychiatry specialty
}

CAREPLAN_STATUS: dict[str, ItemStatus] = {
    "draft": ItemStatus.PROPOSED,
    "active": ItemStatus.IN_PROGRESS,
    "on-hold": ItemStatus.PLANNED,
    "revoked": ItemStatus.CANCELLED,
    "completed": ItemStatus.COMPLETED,
    "entered-in-error": ItemStatus.CANCELLED,
    "unknown": ItemStatus.RECORDED,
}
ENCOUNTER_STATUS: dict[str, ItemStatus] = {
    "planned": ItemStatus.PLANNED,
    "arrived": ItemStatus.IN_PROGRESS,
    "triaged": ItemStatus.IN_PROGRESS,
    "in-progress": ItemStatus.IN_PROGRESS,
    "onleave": ItemStatus.IN_PROGRESS,
    "finished": ItemStatus.COMPLETED,
    "cancelled": ItemStatus.CANCELLED,
    "entered-in-error": ItemStatus.CANCELLED,
    "unknown": ItemStatus.RECORDED,
}
OBSERVATION_STATUS: dict[str, ItemStatus] = {
    "registered": ItemStatus.PLANNED,
    "preliminary": ItemStatus.RECORDED,
    "final": ItemStatus.RECORDED,
    "amended": ItemStatus.RECORDED,
    "corrected": ItemStatus.RECORDED,
    "cancelled": ItemStatus.CANCELLED,
    "entered-in-error": ItemStatus.CANCELLED,
    "unknown": ItemStatus.RECORDED,
}
# Condition.verificationStatus codes that withdraw the condition.
CONDITION_WITHDRAWN = frozenset({"refuted", "entered-in-error"})

ALLOWED_RESOURCES = frozenset(
    {
        "Patient",
        "RelatedPerson",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Location",
        "CarePlan",
        "Encounter",
        "Condition",
        "Observation",
    }
)
