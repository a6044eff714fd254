"""FHIR Consent (R4 via fhir.resources.R4B, R5 via fhir.resources) import and export.

Export says in extensions what FHIR cannot; import refuses what the engine cannot honour
(UnsupportedFhir with a JSON-pointer-ish `field`). The mapping is tabled in docs/consent.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fhir.resources.consent import Consent as ConsentR5
from fhir.resources.R4B.consent import Consent as ConsentR4
from pydantic import ValidationError

from consent.errors import UnsupportedFhir
from consent.models import (
    DEFAULT_PURPOSE,
    WILDCARD,
    ConsentIn,
    ConsentRecord,
    ConsentStatus,
    EvidenceMethod,
    Restriction,
)
from consent.rules import TIMEZONES
from schemas import Agency, Category, IdentifierError, IdKind, PlanAuthor, parse_person_id

FhirVersion = Literal["R4", "R5"]

NAMESPACE = "https://helhet.no/fhir"
CATEGORY_SYSTEM = f"{NAMESPACE}/CodeSystem/category"
PURPOSE_SYSTEM = f"{NAMESPACE}/CodeSystem/purpose"
AGENCY_SYSTEM = f"{NAMESPACE}/NamingSystem/agency"
CONSENT_ID_SYSTEM = f"{NAMESPACE}/NamingSystem/consent-id"
EXT_EVIDENCE = f"{NAMESPACE}/StructureDefinition/consent-evidence"
EXT_RECORDED_BY = f"{NAMESPACE}/StructureDefinition/consent-recorded-by"
EXT_RECORDED_AT = f"{NAMESPACE}/StructureDefinition/consent-recorded-at"
EXT_WITHDRAWAL_REASON = f"{NAMESPACE}/StructureDefinition/consent-withdrawal-reason"

PERSON_SYSTEMS: Mapping[IdKind, str] = {
    IdKind.FNR: "urn:oid:2.16.578.1.12.4.1.4.1",
    IdKind.DNR: "urn:oid:2.16.578.1.12.4.1.4.2",
    IdKind.CPR: "urn:oid:1.2.208.176.1.2",
}
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
RECIPIENT_ROLES = frozenset({"IRCP", "PRCP"})
SOURCE_ROLE = "CST"
ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
HONOURED_ACTIONS = frozenset({"disclose", "access", "use"})
SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
PATIENT_CONSENT = "59284-0"
ACTCODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# Sensitivity codes other systems use, accepted on import (export always uses CATEGORY_SYSTEM).
ACTCODE_CATEGORIES: Mapping[str, Category] = {
    "MH": Category.HEALTH_MENTAL,
    "PSY": Category.HEALTH_MENTAL,
    "ETH": Category.HEALTH_SUBSTANCE,
}

_R4_MARKERS = frozenset({"patient", "scope", "performer", "policyRule", "policy", "dateTime"})
_R5_MARKERS = frozenset(
    {"subject", "decision", "grantor", "grantee", "controller", "manager", "date", "period"}
    | {"regulatoryBasis", "policyBasis", "policyText"}
)


# --- export ---------------------------------------------------------------------------------


def _person(person: str) -> dict[str, Any]:
    kind = parse_person_id(person, allow_synthetic=True).kind
    return {"identifier": {"system": PERSON_SYSTEMS[kind], "value": person}}


def _agency_actor(agency: str, role: str) -> dict[str, Any]:
    return {
        "role": {"coding": [{"system": ROLE_SYSTEM, "code": role}]},
        "reference": {"identifier": {"system": AGENCY_SYSTEM, "value": agency}, "display": agency},
    }


def _codes(categories: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"coding": [{"system": CATEGORY_SYSTEM, "code": str(c)}]}
        for c in categories
        if c != WILDCARD
    ]


def _actors(agencies: Sequence[str], role: str) -> list[dict[str, Any]]:
    return [_agency_actor(str(a), role) for a in agencies if a != WILDCARD]


def _is_pure_deny(record: ConsentRecord) -> bool:
    return len(record.restrictions) == 1 and (
        record.restrictions[0].recipients == record.recipients
        and record.restrictions[0].categories == record.categories
    )


def to_fhir(record: ConsentRecord, version: FhirVersion) -> dict[str, Any]:
    """The record as a FHIR Consent (R4 or R5) JSON object, validated by fhir.resources."""
    deny = _is_pure_deny(record)
    extensions: list[dict[str, Any]] = [
        {
            "url": EXT_EVIDENCE,
            "extension": [
                {"url": "method", "valueCode": record.evidence.method.value},
                {"url": "reference", "valueString": record.evidence.reference},
            ],
        },
        {"url": EXT_RECORDED_BY, "valueString": record.recorded_by},
    ]
    if version == "R5":
        extensions.append({"url": EXT_RECORDED_AT, "valueDateTime": record.recorded_at.isoformat()})
    if record.withdrawal_reason is not None:
        extensions.append({"url": EXT_WITHDRAWAL_REASON, "valueString": record.withdrawal_reason})
    period: dict[str, Any] = {"start": record.valid_from.isoformat()}
    if record.valid_until is not None:
        period["end"] = record.valid_until.isoformat()
    root: dict[str, Any] = {
        "actor": _actors(record.sources, SOURCE_ROLE) + _actors(record.recipients, "IRCP"),
        "action": [{"coding": [{"system": ACTION_SYSTEM, "code": "disclose"}]}],
        "purpose": [{"system": PURPOSE_SYSTEM, "code": record.purpose}],
        "code": _codes(record.categories),
    }
    nested: list[dict[str, Any]] = [
        {"actor": _actors(r.recipients, "IRCP"), "code": _codes(r.categories)}
        for r in ([] if deny else record.restrictions)
    ]
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": record.consent_id,
        "meta": {"versionId": str(record.version)},
        "extension": extensions,
        "identifier": [{"system": CONSENT_ID_SYSTEM, "value": record.consent_id}],
        "status": "active" if record.status is ConsentStatus.ACTIVE else "inactive",
        "category": [{"coding": [{"system": LOINC, "code": PATIENT_CONSENT}]}],
    }
    if version == "R4":
        resource["scope"] = {"coding": [{"system": SCOPE_SYSTEM, "code": "patient-privacy"}]}
        resource["patient"] = _person(record.subject)
        resource["dateTime"] = record.recorded_at.isoformat()
        resource["performer"] = [_person(p) for p in record.given_by]
        for n in nested:
            n["type"] = "deny"
        root = {"type": "deny" if deny else "permit", "period": period, **root}
        if nested:
            root["provision"] = nested
        resource["provision"] = _prune(root)
        model: Any = ConsentR4
    else:
        resource["subject"] = _person(record.subject)
        resource["date"] = record.recorded_at.date().isoformat()
        resource["period"] = period
        resource["grantor"] = [_person(p) for p in record.given_by]
        resource["decision"] = "deny" if deny else "permit"
        if nested:
            root["provision"] = nested
        resource["provision"] = [_prune(root)]
        model = ConsentR5
    try:
        model.model_validate(resource)
    except ValidationError as exc:  # pragma: no cover - a bug here, not bad input
        raise UnsupportedFhir(f"export failed FHIR validation: {exc}", field="/") from exc
    return resource


def _prune(provision: dict[str, Any]) -> dict[str, Any]:
    """Drop empty lists (FHIR forbids empty arrays) from a provision and its exceptions."""
    out: dict[str, Any] = {}
    for key, value in provision.items():
        if key == "provision":
            value = [_prune(p) for p in value]
        if value == []:
            continue
        out[key] = value
    return out


# --- import ---------------------------------------------------------------------------------


def detect_version(data: Mapping[str, Any]) -> FhirVersion:
    """Tell an R4 Consent from an R5 one by the elements only one of them has."""
    provision = data.get("provision")
    if isinstance(provision, list):
        return "R5"
    if isinstance(provision, dict):
        return "R4"
    keys = set(data)
    r4, r5 = bool(keys & _R4_MARKERS), bool(keys & _R5_MARKERS)
    if r4 and not r5:
        return "R4"
    if r5 and not r4:
        return "R5"
    raise UnsupportedFhir(
        "cannot tell whether this is an R4 or an R5 Consent; give fhirVersion=4.0 or 5.0",
        field="/",
    )


def from_fhir(data: Mapping[str, Any], version: FhirVersion | None = None) -> ConsentIn:
    """A native consent from a FHIR Consent JSON object, or UnsupportedFhir naming where."""
    if not isinstance(data, Mapping) or data.get("resourceType") != "Consent":
        raise UnsupportedFhir("not a FHIR Consent resource", field="/resourceType")
    version = version or detect_version(data)
    model: Any = ConsentR4 if version == "R4" else ConsentR5
    try:
        model.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "/" + "/".join(str(p) for p in error["loc"]) if error["loc"] else "/"
        message = f"not a valid {version} Consent: {error['msg']}"
        raise UnsupportedFhir(message, field=where) from exc
    return _Importer(data, version).consent()


class _Importer:
    def __init__(self, data: Mapping[str, Any], version: FhirVersion) -> None:
        self.data = data
        self.version = version

    def consent(self) -> ConsentIn:
        data = self.data
        _no_modifiers(data, "")
        if data.get("status") != "active":
            raise UnsupportedFhir(
                f"only an active Consent can be recorded (got {data.get('status')!r})",
                field="/status",
            )
        if self.version == "R4":
            self._r4_scope()
            subject = self._person(data.get("patient"), "/patient")
            given = data.get("performer") or []
            given_name = "performer"
            root, root_at = data.get("provision") or {}, "/provision"
            decision = root.get("type")
            if decision not in ("permit", "deny"):
                raise UnsupportedFhir(
                    "the root provision must say permit or deny", field="/provision/type"
                )
            period, period_at = root.get("period"), "/provision/period"
        else:
            subject = self._person(data.get("subject"), "/subject")
            given = data.get("grantor") or []
            given_name = "grantor"
            provisions = data.get("provision") or []
            if len(provisions) > 1:
                raise UnsupportedFhir(
                    "more than one top-level provision: helhet takes one scope per consent",
                    field="/provision/1",
                )
            root, root_at = (provisions[0] if provisions else {}), "/provision/0"
            decision = data.get("decision", "permit")
            period, period_at = data.get("period"), "/period"
            if root.get("period") is not None:
                if period is not None and root["period"] != period:
                    raise UnsupportedFhir(
                        "provision period differs from the Consent period",
                        field="/provision/0/period",
                    )
                period, period_at = root["period"], "/provision/0/period"
        if not given:
            raise UnsupportedFhir("nobody is recorded as giving it", field=f"/{given_name}")
        given_by = [self._person(p, f"/{given_name}/{i}") for i, p in enumerate(given)]
        jurisdiction = "DK" if parse_person_id(subject).kind is IdKind.CPR else "NO"
        valid_from = valid_until = None
        if period is not None:
            if "start" in period:
                valid_from = _instant(period["start"], f"{period_at}/start", jurisdiction)
            if "end" in period:
                valid_until = _instant(period["end"], f"{period_at}/end", jurisdiction)
        sources, recipients, categories, purpose = self._scope(root, root_at)
        restrictions = self._exceptions(root, root_at, decision)
        if decision == "deny":
            restrictions = [Restriction(recipients=recipients, categories=categories)]
        fields: dict[str, Any] = {
            "subject": subject,
            "given_by": given_by,
            "sources": sources,
            "recipients": recipients,
            "categories": categories,
            "purpose": purpose,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "evidence": self._evidence(),
            "restrictions": restrictions,
        }
        try:
            return ConsentIn.model_validate(fields)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise UnsupportedFhir(
                f"the Consent does not make a valid helhet consent: {error['msg']}",
                field="/" + "/".join(str(p) for p in error["loc"]),
            ) from exc

    def _r4_scope(self) -> None:
        for coding in (self.data.get("scope") or {}).get("coding", []):
            if coding.get("system") == SCOPE_SYSTEM and coding.get("code") != "patient-privacy":
                raise UnsupportedFhir(
                    f"scope {coding.get('code')!r}: helhet records privacy consents only",
                    field="/scope",
                )

    def _person(self, reference: Any, at: str) -> str:
        identifier = (reference or {}).get("identifier")
        if not identifier:
            raise UnsupportedFhir(
                "a person must be given by identifier (fødselsnummer, D-number or CPR)",
                field=f"{at}/identifier",
            )
        system, value = identifier.get("system"), str(identifier.get("value", ""))
        if system not in PERSON_SYSTEMS.values():
            raise UnsupportedFhir(
                f"unknown identifier system {system!r}", field=f"{at}/identifier/system"
            )
        try:
            parsed = parse_person_id(value)
        except IdentifierError as exc:
            raise UnsupportedFhir(str(exc), field=f"{at}/identifier/value") from exc
        if PERSON_SYSTEMS[parsed.kind] != system:
            raise UnsupportedFhir(
                f"a {parsed.kind.value} number under system {system}",
                field=f"{at}/identifier/system",
            )
        return parsed.value

    def _scope(
        self, provision: Mapping[str, Any], at: str
    ) -> tuple[list[str], list[str], list[str], str]:
        _no_modifiers(provision, at)
        for unsupported in ("data", "dataPeriod", "securityLabel", "expression"):
            if provision.get(unsupported):
                raise UnsupportedFhir(
                    f"helhet decides by category, not by {unsupported}", field=f"{at}/{unsupported}"
                )
        for i, action in enumerate(provision.get("action") or []):
            codes = {c.get("code") for c in action.get("coding", [])}
            if not codes & HONOURED_ACTIONS:
                raise UnsupportedFhir(
                    "helhet consents govern disclosure; this action is not one it can honour",
                    field=f"{at}/action/{i}",
                )
        sources, recipients = self._actors(provision, at, allow_sources=True)
        purposes = provision.get("purpose") or []
        if len(purposes) > 1:
            raise UnsupportedFhir("one purpose per consent", field=f"{at}/purpose/1")
        purpose = DEFAULT_PURPOSE
        if purposes:
            if purposes[0].get("system") != PURPOSE_SYSTEM or not purposes[0].get("code"):
                raise UnsupportedFhir(
                    f"unknown purpose; use codes of {PURPOSE_SYSTEM}", field=f"{at}/purpose/0"
                )
            purpose = str(purposes[0]["code"])
        return sources, recipients, self._categories(provision, at), purpose

    def _actors(
        self, provision: Mapping[str, Any], at: str, *, allow_sources: bool
    ) -> tuple[list[str], list[str]]:
        sources: list[str] = []
        recipients: list[str] = []
        for i, actor in enumerate(provision.get("actor") or []):
            where = f"{at}/actor/{i}"
            _no_modifiers(actor, where)
            roles = {
                c.get("code")
                for c in (actor.get("role") or {}).get("coding", [])
                if c.get("system") == ROLE_SYSTEM
            }
            identifier = (actor.get("reference") or {}).get("identifier") or {}
            value = identifier.get("value")
            known = set(Agency) if roles & RECIPIENT_ROLES else {*Agency, *PlanAuthor}
            if identifier.get("system") != AGENCY_SYSTEM or value not in known:
                raise UnsupportedFhir(
                    f"an actor must be a helhet agency ({AGENCY_SYSTEM})",
                    field=f"{where}/reference",
                )
            if roles & RECIPIENT_ROLES:
                recipients.append(str(value))
            elif SOURCE_ROLE in roles and allow_sources:
                sources.append(str(value))
            else:
                raise UnsupportedFhir(
                    "actor role must be IRCP/PRCP (recipient)"
                    + (" or CST (source)" if allow_sources else " in an exception"),
                    field=f"{where}/role",
                )
        return sources or [WILDCARD], recipients or [WILDCARD]

    def _categories(self, provision: Mapping[str, Any], at: str) -> list[str]:
        found: list[str] = []
        for key in ("class", "resourceType", "documentType"):
            for i, coding in enumerate(provision.get(key) or []):
                category = _category(coding)
                if category is None:
                    raise UnsupportedFhir(
                        f"unknown {key} {coding.get('system')}|{coding.get('code')}",
                        field=f"{at}/{key}/{i}",
                    )
                found.append(category)
        for i, concept in enumerate(provision.get("code") or []):
            mapped = [c for c in map(_category, concept.get("coding", [])) if c is not None]
            if not mapped:
                raise UnsupportedFhir(
                    "unknown code: no coding maps to a helhet category", field=f"{at}/code/{i}"
                )
            found.append(mapped[0])
        return list(dict.fromkeys(found)) or [WILDCARD]

    def _exceptions(
        self, root: Mapping[str, Any], root_at: str, decision: str
    ) -> list[Restriction]:
        restrictions: list[Restriction] = []
        for i, nested in enumerate(root.get("provision") or []):
            at = f"{root_at}/provision/{i}"
            if decision == "deny":
                raise UnsupportedFhir(
                    "exceptions to a deny (permits inside a deny) cannot be honoured", field=at
                )
            _no_modifiers(nested, at)
            if self.version == "R4" and nested.get("type") != "deny":
                raise UnsupportedFhir("an exception to a permit must be a deny", field=f"{at}/type")
            if nested.get("provision"):
                raise UnsupportedFhir(
                    "provisions nested deeper than one level cannot be honoured",
                    field=f"{at}/provision",
                )
            allowed = {"actor", "code", "class", "resourceType", "documentType", "type", "id"}
            extra = sorted(k for k, v in nested.items() if v and k not in allowed | {"extension"})
            if extra:
                raise UnsupportedFhir(
                    f"an exception may name recipients and categories only, not {extra[0]}",
                    field=f"{at}/{extra[0]}",
                )
            _, recipients = self._actors(nested, at, allow_sources=False)
            categories = self._categories(nested, at)
            restrictions.append(Restriction(recipients=recipients, categories=categories))
        return restrictions

    def _evidence(self) -> dict[str, str]:
        for ext in self.data.get("extension") or []:
            if ext.get("url") == EXT_EVIDENCE:
                parts = {e.get("url"): e for e in ext.get("extension", [])}
                method = (parts.get("method") or {}).get("valueCode")
                reference = (parts.get("reference") or {}).get("valueString")
                if method not in set(EvidenceMethod) or not reference:
                    raise UnsupportedFhir(
                        "the evidence extension needs a known method and a reference",
                        field="/extension",
                    )
                return {"method": str(method), "reference": str(reference)}
        candidates: list[Any] = []
        attachments = self.data.get("sourceAttachment")
        for attachment in attachments if isinstance(attachments, list) else [attachments]:
            if attachment:
                candidates += [attachment.get("url"), attachment.get("title")]
        sources = self.data.get("sourceReference")
        for ref in sources if isinstance(sources, list) else [sources]:
            if ref:
                candidates += [ref.get("reference"), ref.get("display")]
        candidates += [i.get("value") for i in self.data.get("identifier") or []]
        candidates.append(self.data.get("id"))
        reference = next((str(c) for c in candidates if c), None)
        if reference is None:
            raise UnsupportedFhir(
                "no evidence: give sourceAttachment, sourceReference or an identifier",
                field="/sourceAttachment",
            )
        return {"method": EvidenceMethod.FHIR.value, "reference": f"FHIR Consent {reference}"[:200]}


def _category(coding: Mapping[str, Any]) -> str | None:
    system, code = coding.get("system"), str(coding.get("code"))
    if system == CATEGORY_SYSTEM and code in set(Category):
        return str(code)
    if system == ACTCODE_SYSTEM and code in ACTCODE_CATEGORIES:
        return ACTCODE_CATEGORIES[code].value
    return None


def _no_modifiers(element: Mapping[str, Any], at: str) -> None:
    if element.get("modifierExtension"):
        raise UnsupportedFhir(
            "modifier extensions change the meaning and are not understood",
            field=f"{at}/modifierExtension",
        )


def _instant(value: Any, at: str, jurisdiction: str) -> dt.datetime:
    """A FHIR date or dateTime as an aware instant (a bare date: local midnight)."""
    text = str(value)
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(0), tzinfo=TIMEZONES[jurisdiction])
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UnsupportedFhir("a period bound must be a full date or dateTime", field=at) from exc
    if parsed.tzinfo is None:
        raise UnsupportedFhir("a dateTime with a time needs a zone", field=at)
    return parsed
