"""Minimisation: one consent decision per (subject, recipient, category); each recipient gets
only the items it may see, grouped by the basis that permits them, and the rest is refused.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from consent.models import Decision
from gateway.intake.routing import Target
from gateway.intake.services import Services
from schemas import PlanItem, PlanUpdate

PURPOSE = "family_plan"
NO_RECIPIENT_KEY = "no_recipient_key"


@dataclass
class RouteOutcome:
    """The categories disclosed to and withheld from one recipient in one family."""

    disclosed: set[str] = field(default_factory=set)
    withheld: set[str] = field(default_factory=set)


@dataclass
class Permitted:
    """Items of one update about one subject, to one recipient, under one basis: one message."""

    update: PlanUpdate
    family_id: str
    recipient: str
    subject: str
    decision: Decision
    items: list[PlanItem]


@dataclass
class Refused:
    """Categories of one subject withheld from one recipient for one reason."""

    family_id: str
    recipient: str
    subject: str
    reason: str
    basis: str | None
    categories: list[str]
    items: int
    record_type: str


@dataclass
class Minimised:
    """What a record leads to: messages to seal, refusals to log, the answer's routes (in all,
    and per update_id)."""

    messages: list[Permitted] = field(default_factory=list)
    refusals: list[Refused] = field(default_factory=list)
    routes: dict[tuple[str, str], RouteOutcome] = field(default_factory=dict)
    by_update: dict[str, dict[tuple[str, str], RouteOutcome]] = field(default_factory=dict)


def minimise(
    services: Services, targets: Iterable[Target], *, source: str, now: dt.datetime
) -> Minimised:
    """Decide every target's items; a recipient without a public key gets nothing."""
    result = Minimised()
    for target in targets:
        _decide_target(services, result, target, source=source, now=now)
    return result


def _decide_target(
    services: Services, result: Minimised, target: Target, *, source: str, now: dt.datetime
) -> None:
    route = (target.family_id, target.recipient)
    acc = result.routes.setdefault(route, RouteOutcome())
    own = result.by_update.setdefault(target.update.update_id, {}).setdefault(route, RouteOutcome())
    has_key = services.recipient_keys.get(target.recipient) is not None
    permitted: dict[str, tuple[Decision, list[PlanItem]]] = {}
    denied: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for item in target.items:
        category = item.category.value
        decision = services.consents.decide(
            target.subject, source, target.recipient, category, PURPOSE, now, target.facts
        )
        if decision.permit and has_key:
            permitted.setdefault(decision.basis or "", (decision, []))[1].append(item)
            acc.disclosed.add(category)
            own.disclosed.add(category)
        else:
            reason = decision.reason.value if not decision.permit else NO_RECIPIENT_KEY
            denied[(reason, decision.basis)].append(category)
            acc.withheld.add(category)
            own.withheld.add(category)
    for decision, chosen in permitted.values():
        result.messages.append(
            Permitted(
                target.update,
                target.family_id,
                target.recipient,
                target.subject,
                decision,
                chosen,
            )
        )
    for (reason, basis), categories in denied.items():
        result.refusals.append(
            Refused(
                target.family_id,
                target.recipient,
                target.subject,
                reason,
                basis,
                sorted(set(categories)),
                len(categories),
                target.update.source.record_type,
            )
        )
