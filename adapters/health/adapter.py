"""Translate FHIR R4 Bundles (validated with fhir.resources' R4B models) into health items.

One PlanUpdate per Bundle; items for every patient it names (mother and child alike).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from adapters._common import JsonAdapterBase, record_builder
from adapters._json import RawRecord, root
from adapters.base import (
    COPENHAGEN,
    DEFAULT_MAX_BYTES,
    FHIR_JSON,
    FHIR_NDJSON,
    JSON,
    NDJSON,
    OSLO,
)
from adapters.errors import InvalidIdentifier, InvalidRecord
from adapters.health import mapping as m
from schemas import Agency, Category, ItemKind, ItemStatus, PlanUpdate


def _pointer(loc: tuple[Any, ...], base: str) -> str:
    return base + "".join(f"/{p}" for p in loc)


class HealthAdapter(JsonAdapterBase):
    """Health: application/fhir+json (a Bundle or an array of them), NDJSON of Bundles."""

    agency: Agency = Agency.HEALTH
    content_types: tuple[str, ...] = (FHIR_JSON, JSON, NDJSON, FHIR_NDJSON)
    record_types: tuple[str, ...] = ("fhir/Bundle",)

    def __init__(
        self,
        *,
        category_map: Mapping[str, Category | str] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__(max_bytes=max_bytes)
        source = m.DEFAULT_CATEGORY_MAP if category_map is None else category_map
        self.category_map = {key: Category(value) for key, value in source.items()}

    def _record(self, raw: RawRecord, received_at: dt.datetime) -> PlanUpdate:
        agency = self.agency_name
        node = root(agency, raw)
        if node.value.get("resourceType") != "Bundle":
            raise node.invalid(
                "resourceType", "a FHIR Bundle", f"got {node.value.get('resourceType')!r}"
            )
        entries = node.value.get("entry")
        if not isinstance(entries, list) or not entries:
            raise node.invalid("entry", "a Bundle with at least one entry")
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            rtype = resource.get("resourceType") if isinstance(resource, dict) else None
            if not isinstance(rtype, str) or rtype not in m.ALLOWED_RESOURCES:
                raise InvalidRecord(
                    agency,
                    "a resource of type " + ", ".join(sorted(m.ALLOWED_RESOURCES)),
                    record=raw.label,
                    pointer=f"{raw.base}/entry/{index}/resource/resourceType",
                    detail=f"got {rtype!r}",
                )
        try:
            Bundle.model_validate(node.value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRecord(
                agency,
                "a Bundle valid against FHIR R4",
                record=raw.label,
                pointer=_pointer(tuple(first["loc"]), raw.base) or "/",
                detail=str(first["msg"])[:300],
            ) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRecord(
                agency,
                "a Bundle valid against FHIR R4",
                record=raw.label,
                pointer=raw.base or "/",
                detail=str(exc)[:300],
            ) from None
        return _BundleReader(self, raw, received_at).read()


class _BundleReader:
    def __init__(self, adapter: HealthAdapter, raw: RawRecord, received_at: dt.datetime) -> None:
        self.adapter = adapter
        self.raw = raw
        self.bundle: dict[str, Any] = raw.value
        meta = self.bundle.get("meta") or {}
        ident = (self.bundle.get("identifier") or {}).get("value")
        self.builder = record_builder(
            Agency.HEALTH,
            raw,
            str(meta.get("source") or "fhir")[:200],
            "fhir/Bundle",
            str(self.bundle.get("id") or ident or ""),
            received_at,
        )
        if not self.builder.record_id:
            self.builder.record_id = f"Bundle/{self.builder.content_digest[:16]}"
        self.by_ref: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, entry in enumerate(self.bundle["entry"]):
            resource = entry["resource"]
            if entry.get("fullUrl"):
                self.by_ref[entry["fullUrl"]] = (index, resource)
            if resource.get("id"):
                self.by_ref[f"{resource['resourceType']}/{resource['id']}"] = (index, resource)
        self.patients: dict[int, tuple[str, ZoneInfo]] = {}

    def ptr(self, index: int, *path: object) -> str:
        return f"{self.raw.base}/entry/{index}/resource" + "".join(f"/{p}" for p in path)

    def invalid(self, pointer: str, expected: str, detail: str | None = None) -> InvalidRecord:
        return self.builder.invalid(pointer, expected, detail)

    def resolve(self, ref: Any, pointer: str) -> tuple[int, dict[str, Any]] | None:
        if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
            return None
        return self.by_ref.get(ref["reference"])

    def patient(self, index: int, resource: dict[str, Any]) -> tuple[str, ZoneInfo]:
        ref = resource.get("subject")
        pointer = self.ptr(index, "subject", "reference")
        found = self.resolve(ref, pointer)
        if found is None or found[1].get("resourceType") != "Patient":
            raise self.invalid(
                pointer, "a reference to a Patient in the same Bundle (fullUrl or Patient/id)"
            )
        p_index, patient = found
        if p_index not in self.patients:
            self.patients[p_index] = self._identify(p_index, patient)
        return self.patients[p_index]

    def _identify(self, index: int, patient: dict[str, Any]) -> tuple[str, ZoneInfo]:
        for j, ident in enumerate(patient.get("identifier") or []):
            country = m.PERSON_SYSTEMS.get(ident.get("system"))
            if country:
                subject = self.builder.subject(
                    ident.get("value"), self.ptr(index, "identifier", j, "value")
                )
                return subject, OSLO if country == "NO" else COPENHAGEN
        raise InvalidIdentifier(
            Agency.HEALTH.value,
            "a Patient identifier with system fnr (urn:oid:2.16.578.1.12.4.1.4.1), "
            "D-number (…4.1.4.2) or CPR (urn:oid:1.2.208.176.1.2)",
            record=self.raw.label,
            pointer=self.ptr(index, "identifier"),
        )

    # --- category ---

    def _codings(self, concepts: Any) -> list[dict[str, Any]]:
        if isinstance(concepts, dict):
            concepts = [concepts]
        found: list[dict[str, Any]] = []
        for concept in concepts or []:
            found.extend(c for c in concept.get("coding") or [] if isinstance(c, dict))
        return found

    def _org_codings(self, refs: Any) -> list[dict[str, Any]]:
        if isinstance(refs, dict):
            refs = [refs]
        found: list[dict[str, Any]] = []
        for ref in refs or []:
            hit = self.resolve(ref, "")
            if hit is not None and hit[1].get("resourceType") == "Organization":
                found.extend(self._codings(hit[1].get("type")))
        return found

    def category(self, resource: dict[str, Any], depth: int = 0) -> Category:
        rtype = resource["resourceType"]
        codings: list[dict[str, Any]] = []
        if rtype == "Encounter":
            codings += self._codings(resource.get("serviceType")) + self._codings(
                resource.get("type")
            )
            codings += self._org_codings(resource.get("serviceProvider"))
        elif rtype == "CarePlan":
            codings += self._codings(resource.get("category"))
            codings += self._org_codings(resource.get("author"))
        else:
            codings += self._codings(resource.get("category"))
            codings += self._org_codings(resource.get("performer") or resource.get("asserter"))
        for coding in codings:
            system, code = coding.get("system"), coding.get("code")
            for key in (f"{system}|{code}", code):
                if isinstance(key, str) and key in self.adapter.category_map:
                    return self.adapter.category_map[key]
        encounter = self.resolve(resource.get("encounter"), "")
        if depth == 0 and encounter is not None and encounter[1].get("resourceType") == "Encounter":
            return self.category(encounter[1], depth + 1)
        return Category.HEALTH_GENERAL

    # --- items ---

    def read(self) -> PlanUpdate:
        for index, entry in enumerate(self.bundle["entry"]):
            resource = entry["resource"]
            rtype = resource["resourceType"]
            handler = {
                "CarePlan": self.careplan,
                "Encounter": self.encounter,
                "Condition": self.condition,
                "Observation": self.observation,
            }.get(rtype)
            if handler is None:
                continue
            key = (
                f"{rtype}/{resource['id']}"
                if resource.get("id")
                else (entry.get("fullUrl") or f"{self.builder.record_id}/{rtype}#{index}")
            )
            handler(index, resource, key)
        if not self.builder.items:
            raise self.invalid(
                f"{self.raw.base}/entry",
                "a Bundle with a CarePlan, Encounter, Condition or Observation",
            )
        return self.builder.build()

    def _status(
        self, index: int, value: Any, table: Mapping[str, ItemStatus], field: str = "status"
    ) -> ItemStatus:
        if value not in table:
            raise self.invalid(
                self.ptr(index, field), "one of " + ", ".join(table), f"got {value!r}"
            )
        return table[value]

    def _date(self, value: Any, zone: ZoneInfo) -> dt.date | None:
        if not isinstance(value, str):
            return None
        if len(value) == 4:
            return dt.date(int(value), 1, 1)
        if len(value) == 7:
            return dt.date(int(value[:4]), int(value[5:7]), 1)
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(zone).date() if parsed.tzinfo else parsed.date()

    def _period(
        self, index: int, period: Any, zone: ZoneInfo, field: str
    ) -> tuple[dt.date | None, dt.date | None]:
        if not isinstance(period, dict):
            return None, None
        start = self._date(period.get("start"), zone)
        end = self._date(period.get("end"), zone)
        if start and end and end < start:
            raise self.invalid(self.ptr(index, field, "end"), "an end on or after the start")
        return start, end

    def _code(self, concept: Any) -> tuple[str, str, str | None] | None:
        for coding in self._codings(concept):
            if coding.get("system") and coding.get("code"):
                return str(coding["system"]), str(coding["code"]), coding.get("display")
        return None

    def _text(self, concept: Any, fallback: str) -> str:
        if isinstance(concept, dict):
            if concept.get("text"):
                return str(concept["text"])
            for coding in self._codings(concept):
                if coding.get("display"):
                    return str(coding["display"])
        return fallback

    def _add(
        self,
        index: int,
        res: dict[str, Any],
        key: str,
        subject: str,
        kind: ItemKind,
        **fields: Any,
    ) -> None:
        """One item for the resource at entry `index`, in the category its codes give."""
        self.builder.add(
            key=key,
            pointer=self.ptr(index),
            subject=subject,
            kind=kind,
            category=self.category(res),
            source_ref=key,
            **fields,
        )

    def careplan(self, index: int, res: dict[str, Any], key: str) -> None:
        subject, zone = self.patient(index, res)
        status = self._status(index, res.get("status"), m.CAREPLAN_STATUS)
        activities = []
        for activity in res.get("activity") or []:
            detail = activity.get("detail") or {}
            text = detail.get("description") or self._text(detail.get("code"), "")
            if text:
                activities.append(text)
        categories = res.get("category") or []
        self._add(
            index,
            res,
            key,
            subject,
            ItemKind.MEASURE,
            title=res.get("title") or self._text(categories[0] if categories else None, "Plan"),
            description=res.get("description"),
            status=status,
            period=self._period(index, res.get("period"), zone, "period"),
            code=self._code(categories[0]) if categories else None,
            values={
                "fhir_status": res["status"],
                "intent": res.get("intent"),
                "aktiviteter": activities,
            },
        )

    def encounter(self, index: int, res: dict[str, Any], key: str) -> None:
        subject, zone = self.patient(index, res)
        status = self._status(index, res.get("status"), m.ENCOUNTER_STATUS)
        types = res.get("type") or []
        service = res.get("serviceType")
        cls = res.get("class") or {}
        self._add(
            index,
            res,
            key,
            subject,
            ItemKind.EVENT,
            title=self._text(service, self._text(types[0] if types else None, "Konsultasjon")),
            status=status,
            period=self._period(index, res.get("period"), zone, "period"),
            code=self._code(service) or (self._code(types[0]) if types else None),
            values={"fhir_status": res["status"], "class": cls.get("code")},
        )

    def condition(self, index: int, res: dict[str, Any], key: str) -> None:
        subject, zone = self.patient(index, res)
        clinical = self._code(res.get("clinicalStatus"))
        verification = self._code(res.get("verificationStatus"))
        withdrawn = verification is not None and verification[1] in m.CONDITION_WITHDRAWN
        start = self._date(res.get("onsetDateTime"), zone)
        end = self._date(res.get("abatementDateTime"), zone)
        if start and end and end < start:
            raise self.invalid(
                self.ptr(index, "abatementDateTime"), "an abatement on or after the onset"
            )
        self._add(
            index,
            res,
            key,
            subject,
            ItemKind.OBSERVATION,
            title=self._text(res.get("code"), "Tilstand"),
            status=ItemStatus.CANCELLED if withdrawn else ItemStatus.RECORDED,
            period=(start, end),
            code=self._code(res.get("code")),
            values={
                "clinicalStatus": clinical[1] if clinical else None,
                "verificationStatus": verification[1] if verification else None,
            },
        )

    def observation(self, index: int, res: dict[str, Any], key: str) -> None:
        subject, zone = self.patient(index, res)
        status = self._status(index, res.get("status"), m.OBSERVATION_STATUS)
        if "effectivePeriod" in res:
            period = self._period(index, res["effectivePeriod"], zone, "effectivePeriod")
        else:
            when = self._date(res.get("effectiveDateTime") or res.get("effectiveInstant"), zone)
            period = (when, None)
        values: dict[str, Any] = {"fhir_status": res["status"]}
        if "valueQuantity" in res:
            quantity = res["valueQuantity"]
            if not isinstance(quantity, dict):  # FHIR JSON has no nulls
                raise self.invalid(
                    self.ptr(index, "valueQuantity"), "a Quantity object", f"got {quantity!r}"
                )
            values["value"] = quantity.get("value")
            values["unit"] = quantity.get("unit") or quantity.get("code")
        elif "valueCodeableConcept" in res:
            values["value"] = self._text(res["valueCodeableConcept"], "")
            coded = self._code(res["valueCodeableConcept"])
            if coded:
                values["valueCode"] = coded[1]
        else:
            for field in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
                if field in res:
                    values["value"] = res[field]
                    break
        self._add(
            index,
            res,
            key,
            subject,
            ItemKind.OBSERVATION,
            title=self._text(res.get("code"), "Observasjon"),
            status=status,
            period=period,
            code=self._code(res.get("code")),
            values=values,
        )
