"""Log entries as FHIR AuditEvent resources (R4 via the R4B models, and R5) in the IHE BALP
"PrivacyDisclosure" shape: type Export, subtype disclose, custodian and recipient agents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from fhir.resources.auditevent import AuditEvent as AuditEventR5
from fhir.resources.R4B.auditevent import AuditEvent as AuditEventR4

from audit.entries import EntryType, LogEntry, format_time
from audit.errors import BadRange

BALP_PROFILE = (
    "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source"
)
DCM = "http://dicom.nema.org/resources/ontology/DCM"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
OUTCOME_R5 = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
AGENCY_SYSTEM = "urn:helhet:agency"
PSEUDONYM_SYSTEM = "urn:helhet:subject-pseudonym"
MESSAGE_SYSTEM = "urn:helhet:message-id"
LOG_SYSTEM = "urn:helhet:audit-log"

_SUBTYPES: dict[EntryType, tuple[str, str]] = {
    EntryType.DISCLOSURE: ("disclose", "Disclose Record Lifecycle Event"),
    EntryType.DELIVERY: ("transmit", "Transmit Record Lifecycle Event"),
    EntryType.REFUSAL: ("disclose", "Disclose Record Lifecycle Event"),
    EntryType.WITHHELD: ("disclose", "Disclose Record Lifecycle Event"),
    EntryType.CONSENT: ("attest", "Attest Record Lifecycle Event"),
    EntryType.ACCESS: ("access", "Access/View Record Lifecycle Event"),
}
_SUCCESS = {EntryType.DISCLOSURE, EntryType.DELIVERY, EntryType.CONSENT, EntryType.ACCESS}


def _agency(code: str, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "identifier": {"system": AGENCY_SYSTEM, "value": code},
        "display": names.get(code, code),
    }


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _description(entry: LogEntry) -> str:
    parts = [f"{entry.event_type.value}: {entry.outcome}"]
    if entry.reason:
        parts.append(f"reason {entry.reason}")
    if entry.basis:
        parts.append(f"basis {entry.basis}")
    if entry.categories:
        parts.append("categories " + ", ".join(entry.categories))
    return "; ".join(parts)


def to_fhir_audit_event(
    entry: LogEntry,
    version: Literal["R4", "R5"] = "R5",
    *,
    origin: str = "helhet",
    agency_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One entry as an AuditEvent (a JSON-ready dict, validated by fhir.resources)."""
    names = agency_names or {}
    subtype_code, subtype_display = _SUBTYPES[entry.event_type]
    success = entry.event_type in _SUCCESS
    recorded = format_time(entry.recorded_at)
    agents_core: list[tuple[str, str, dict[str, Any]]] = []
    if entry.source:
        agents_core.append(("CST", "custodian", _agency(entry.source, names)))
    if entry.recipient:
        agents_core.append(("IRCP", "information recipient", _agency(entry.recipient, names)))
    entities: list[dict[str, Any]] = []
    if entry.subject_pseudonym:
        entities.append(
            {
                "what": {
                    "identifier": {"system": PSEUDONYM_SYSTEM, "value": entry.subject_pseudonym}
                },
                "type": _coding(ENTITY_TYPE, "1", "Person"),
                "role": _coding(OBJECT_ROLE, "1", "Patient"),
            }
        )
    data: dict[str, Any] = {
        "what": {
            "identifier": {"system": MESSAGE_SYSTEM, "value": entry.message_id or str(entry.index)}
        },
        "type": _coding(ENTITY_TYPE, "2", "System Object"),
        "role": _coding(OBJECT_ROLE, "3", "Report"),
        "description": _description(entry),
    }
    if entry.payload_sha256:
        data["detail"] = [{"type": "payload-sha256", "valueString": entry.payload_sha256}]
    entities.append(data)
    purpose = [{"text": entry.purpose}] if entry.purpose else []
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"helhet-log-{entry.index}",
        "meta": {"profile": [BALP_PROFILE]},
        "action": "R",
        "recorded": recorded,
        "agent": [],
        "source": {},
        "entity": entities,
    }
    observer = {
        "identifier": {"system": LOG_SYSTEM, "value": f"{origin}#{entry.index}"},
        "display": origin,
    }
    if version == "R4":
        resource["type"] = _coding(DCM, "110106", "Export")
        resource["subtype"] = [_coding(LIFECYCLE, subtype_code, subtype_display)]
        resource["outcome"] = "0" if success else "4"
        resource["outcomeDesc"] = _description(entry)
        if purpose:
            resource["purposeOfEvent"] = purpose
        for code, display, who in agents_core:
            resource["agent"].append(
                {
                    "type": {"coding": [_coding(PARTICIPATION, code, display)]},
                    "who": who,
                    "requestor": False,
                }
            )
        resource["agent"].append(
            {
                "type": {"coding": [_coding(DCM, "110150", "Application")]},
                "who": {"display": entry.client or origin},
                "requestor": True,
            }
        )
        resource["source"] = {
            "observer": observer,
            "type": [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "4",
                    "Application Server",
                )
            ],
        }
        model: Any = AuditEventR4.model_validate(resource)
    elif version == "R5":
        resource["category"] = [{"coding": [_coding(DCM, "110106", "Export")]}]
        resource["code"] = {"coding": [_coding(LIFECYCLE, subtype_code, subtype_display)]}
        resource["outcome"] = {
            "code": _coding(OUTCOME_R5, "0", "Success")
            if success
            else _coding(OUTCOME_R5, "4", "Minor failure"),
            "detail": [{"text": _description(entry)}],
        }
        if purpose:
            resource["authorization"] = purpose
        if entry.subject_pseudonym:
            resource["patient"] = {
                "identifier": {"system": PSEUDONYM_SYSTEM, "value": entry.subject_pseudonym}
            }
        for code, display, who in agents_core:
            resource["agent"].append(
                {
                    "type": {"coding": [_coding(PARTICIPATION, code, display)]},
                    "who": who,
                    "requestor": False,
                }
            )
        resource["agent"].append(
            {
                "type": {"coding": [_coding(DCM, "110150", "Application")]},
                "who": {"display": entry.client or origin},
                "requestor": True,
            }
        )
        resource["source"] = {"observer": observer}
        for entity in entities:
            entity.pop("type", None)
            entity.pop("description", None)
            entity["role"] = {"coding": [entity["role"]]}
        if entry.payload_sha256:
            entities[-1]["detail"] = [
                {"type": {"text": "payload-sha256"}, "valueString": entry.payload_sha256}
            ]
        model = AuditEventR5.model_validate(resource)
    else:
        raise BadRange(f"FHIR version {version!r}: use R4 or R5")
    out: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True))
    return out
