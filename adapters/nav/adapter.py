"""Translate NAV aktivitetskort messages (upsert, kassering) and §14a decisions.

One PlanUpdate per message; NAV's internal aktorId is refused (it cannot be matched to a family).
"""

from __future__ import annotations

import datetime as dt
import re

from adapters._common import JsonAdapterBase
from adapters._json import Node, RawRecord, check_uuid, root
from adapters.base import JSON, NDJSON, OSLO, RecordBuilder
from adapters.errors import InvalidIdentifier
from adapters.nav import mapping as m
from schemas import Agency, Category, ItemKind, ItemStatus, PlanUpdate

_AKTOR_ID = re.compile(r"^\d{13}$")


class NavAdapter(JsonAdapterBase):
    """NAV: application/json (one message, or an array) and application/x-ndjson."""

    agency: Agency = Agency.NAV
    content_types: tuple[str, ...] = (JSON, NDJSON)
    record_types: tuple[str, ...] = ("aktivitetskort", "kassering", "14a-vedtak")

    def _record(self, raw: RawRecord, received_at: dt.datetime) -> PlanUpdate:
        node = root(self.agency_name, raw)
        value = node.value
        if "actionType" in value:
            action = node.code("actionType", {m.ACTION_UPSERT: 1, m.ACTION_KASSER: 1})
            if action == m.ACTION_UPSERT:
                return self._upsert(node, raw, received_at)
            return self._kasser(node, raw, received_at)
        if "innsatsgruppe" in value or "vedtakId" in value:
            return self._decision(node, raw, received_at)
        raise node.invalid(
            None,
            "an aktivitetskort message (with actionType) or a §14a decision (with innsatsgruppe)",
        )

    def _person(self, node: Node, builder: RecordBuilder, key: str = "personIdent") -> str:
        value = node.value.get(key)
        if value is None and node.value.get("aktorId") is not None:
            raise InvalidIdentifier(
                self.agency_name,
                "personIdent (fødselsnummer or D-number)",
                record=builder.record_label,
                pointer=node.at("aktorId"),
                detail="the record names the person only by NAV's internal aktorId, "
                "which cannot be matched to a family; send personIdent",
            )
        if isinstance(value, str) and _AKTOR_ID.match(value.strip()):
            raise InvalidIdentifier(
                self.agency_name,
                "a fødselsnummer or D-number (11 digits)",
                record=builder.record_label,
                pointer=node.at(key),
                detail="13 digits is NAV's internal aktorId, which cannot be matched to a family",
            )
        return builder.subject(value, node.at(key))

    def _upsert(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        message_id = check_uuid(node, "messageId")
        system = node.req_str("source", max_length=200)
        card_type = node.code("aktivitetskortType", m.CARD_TYPES)
        assert card_type is not None
        category, type_display = m.CARD_TYPES[card_type]
        card = node.req_obj("aktivitetskort")
        card_id = check_uuid(card, "id")
        if card_id.lower() == message_id.lower():
            raise node.invalid(
                "messageId",
                "a messageId different from aktivitetskort.id",
                "NAV refuses a messageId equal to the card id (MESSAGEID_LIK_AKTIVITETSID)",
            )
        builder = self._builder(raw, system, "aktivitetskort", message_id, when)
        subject = self._person(card, builder)
        title = card.req_str("tittel", max_length=200)
        status_code = card.code("aktivitetStatus", m.STATUS)
        assert status_code is not None
        start = card.date("startDato", required=False)
        end = card.date("sluttDato", required=False)
        description = card.string("beskrivelse", required=False)
        changed_by = card.req_obj("endretAv")
        changed_by.req_str("ident", max_length=200)
        ident_type = changed_by.code("identType", dict.fromkeys(m.IDENT_TYPES, 1))
        changed_at = card.datetime("endretTidspunkt", OSLO)
        assert changed_at is not None
        agreed = card.boolean("avtaltMedNav")
        details = _details(card)
        labels = _labels(card)
        for key in ("oppgave", "handlinger"):
            if card.value.get(key) is not None and not isinstance(card.value[key], dict | list):
                raise card.invalid(key, "an object or array")
        builder.add(
            key=card_id,
            pointer=card.pointer or "/aktivitetskort",
            subject=subject,
            kind=ItemKind.MEASURE,
            category=category,
            title=title,
            description=description,
            status=m.STATUS[status_code],
            period=(start, end),
            code=("https://navikt.github.io/aktivitetskortType", card_type, type_display),
            responsible=(system, None),
            values={
                "aktivitetStatus": status_code,
                "avtaltMedNav": agreed,
                "endretTidspunkt": changed_at.isoformat(),
                "endretAvType": ident_type,
                "detaljer": details,
                "etiketter": labels,
            },
            source_ref=card_id,
        )
        return builder.build()

    def _kasser(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        message_id = check_uuid(node, "messageId")
        system = node.req_str("source", max_length=200)
        card_id = check_uuid(node, "aktivitetsId")
        node.req_str("navIdent", max_length=50)
        reason = node.string("begrunnelse", required=False, max_length=2000)
        sent = node.datetime("sendt", OSLO, required=False)
        builder = self._builder(raw, system, "kassering", message_id, when)
        subject = self._person(node, builder)
        values: dict[str, object] = {"kassert": True}
        if sent is not None:
            values["sendt"] = sent.isoformat()
        builder.add(
            key=card_id,
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.MEASURE,
            # A kassering does not repeat the card type; every card type maps to employment.
            category=Category.EMPLOYMENT,
            title="Aktivitet kassert",
            description=reason,
            status=ItemStatus.CANCELLED,
            responsible=(system, None),
            values=values,
            source_ref=card_id,
        )
        return builder.build()

    def _decision(self, node: Node, raw: RawRecord, when: dt.datetime) -> PlanUpdate:
        vedtak_raw = node.value.get("vedtakId")
        if isinstance(vedtak_raw, int) and not isinstance(vedtak_raw, bool):
            vedtak_id = str(vedtak_raw)
        else:
            vedtak_id = node.req_str("vedtakId", max_length=100)
        builder = self._builder(raw, "veilarbvedtaksstotte", "14a-vedtak", vedtak_id, when)
        subject = self._person(node, builder)
        group = node.code("innsatsgruppe", m.INNSATSGRUPPE)
        assert group is not None
        goal = node.code("hovedmal", m.HOVEDMAL, required=False)
        decided = node.datetime("fattetDato", OSLO)
        assert decided is not None
        values: dict[str, object] = {"innsatsgruppe": group, "fattetDato": decided.isoformat()}
        if goal is not None:
            values["hovedmal"] = goal
        builder.add(
            key=vedtak_id,
            pointer=node.pointer or "/",
            subject=subject,
            kind=ItemKind.DECISION,
            category=Category.EMPLOYMENT,
            title=f"§ 14 a-vedtak: {m.INNSATSGRUPPE[group]}",
            description=f"Hovedmål: {m.HOVEDMAL[goal]}" if goal else None,
            status=ItemStatus.RECORDED,
            period=(decided.astimezone(OSLO).date(), None),
            code=("https://navikt.github.io/innsatsgruppe", group, m.INNSATSGRUPPE[group]),
            legal_basis={"law": "NAV-loven", "section": "14 a"},
            values=values,
            source_ref=vedtak_id,
        )
        return builder.build()


def _details(card: Node) -> list[dict[str, str]]:
    """The card's detaljer as label and verdi (empty where missing)."""
    details: list[dict[str, str]] = []
    for entry in card.objects("detaljer", required=False):
        label = entry.string("label", required=False, max_length=200) or ""
        verdi = entry.string("verdi", required=False, max_length=2000) or ""
        details.append({"label": label, "verdi": verdi})
    return details


def _labels(card: Node) -> list[dict[str, str]]:
    """The card's etiketter: the tekst, kode and sentiment each has."""
    labels: list[dict[str, str]] = []
    for entry in card.objects("etiketter", required=False):
        tag: dict[str, str] = {}
        for key in ("tekst", "kode"):
            text = entry.string(key, required=False, max_length=200)
            if text:
                tag[key] = text
        sentiment = entry.string("sentiment", required=False, max_length=20)
        if sentiment is not None:
            if sentiment not in m.SENTIMENTS:
                raise entry.invalid("sentiment", "POSITIVE, NEGATIVE or NEUTRAL")
            tag["sentiment"] = sentiment
        labels.append(tag)
    return labels
