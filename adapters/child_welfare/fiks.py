"""Translate the KS Fiks "bekymringsmelding" (report of concern) JSON, v2.

One PlanUpdate per message with one child_welfare.report item per child; reporters' names,
phone numbers and addresses are left out. A private report names children without an
identity number, so it cannot be matched to a family and is refused.
"""

from __future__ import annotations

import datetime as dt

from adapters._common import record_builder
from adapters._json import Node, RawRecord, root
from adapters.base import OSLO
from adapters.errors import InvalidIdentifier
from schemas import Agency, Category, ItemKind, ItemStatus, PlanUpdate


def translate_fiks(raw: RawRecord, received_at: dt.datetime) -> PlanUpdate:
    agency = Agency.CHILD_WELFARE.value
    node = root(agency, raw)
    builder = record_builder(
        Agency.CHILD_WELFARE, raw, "ks-fiks-io", "bekymringsmelding", "", received_at
    )
    if "privatBarn" in node.value and "offentligBarn" not in node.value:
        raise InvalidIdentifier(
            agency,
            "a public report (offentligBarn[] with fnr for each child)",
            record=raw.label,
            pointer=node.at("privatBarn"),
            detail="a private report of concern names children without an identity number; "
            "register it in the child welfare system, which then reports it with the child's "
            "fødselsnummer",
        )
    municipality = node.req_str("kommunenummer", max_length=4)
    if not (len(municipality) == 4 and municipality.isdigit()):
        raise node.invalid("kommunenummer", "four digits")
    node.req_str("kommunenavn", max_length=200)
    sent = node.datetime("sendingstidspunkt", OSLO)
    assert sent is not None
    reporter = node.req_obj("offentligMelder")
    role = reporter.req_str("rolle", max_length=200)
    organisation = reporter.req_obj("virksomhet").req_str("navn", max_length=200)
    children = node.objects("offentligBarn", min_items=1)
    guardians = node.objects("foresatte", min_items=1)
    guardians_informed = [g.boolean("orientert") for g in guardians]
    description = _description(node.req_obj("melding"))
    channel = node.string("leveringskanal", required=False, max_length=100)
    subjects = []
    for child in children:
        child.boolean("ufoedt")
        subjects.append((child, builder.subject(child.value.get("fnr"), child.at("fnr"))))
    builder.record_id = f"{municipality}/{sent.isoformat()}/{builder.content_digest[:16]}"
    for child, subject in subjects:
        values: dict[str, object] = {
            "meldertype": "offentlig",
            "melderRolle": role,
            "melderVirksomhet": organisation,
            "barnOrientert": child.boolean("orientert"),
            "foresatteOrientert": guardians_informed,
            "kommunenummer": municipality,
            "sendingstidspunkt": sent.isoformat(),
        }
        if channel:
            values["leveringskanal"] = channel
        builder.add(
            key=f"{builder.record_id}/{subject}",
            pointer=child.pointer,
            subject=subject,
            kind=ItemKind.EVENT,
            category=Category.CHILD_WELFARE_REPORT,
            title=f"Bekymringsmelding fra {role} ({organisation})",
            description=description,
            status=ItemStatus.RECORDED,
            period=(sent.astimezone(OSLO).date(), None),
            values=values,
        )
    return builder.build()


def _description(message: Node) -> str:
    """The report's text: melding, then its historie and andreSynspunkter where given."""
    text = message.req_str("melding")
    history = message.string("historie", required=True)
    other = message.string("andreSynspunkter", required=False)
    return "\n\n".join(
        part
        for part in (
            text,
            f"Historie: {history}" if history else None,
            f"Andre synspunkter: {other}" if other else None,
        )
        if part
    )
