"""The paper-shaped consent form: what it holds (a draft), who must sign it under the age rules
(consent.rules, per category domain), and the decisions the engine would make with and without
it — worked out by the engine itself (`ConsentIndex.decide_many_as_if`), never re-implemented.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from consent.models import DEFAULT_PURPOSE, WILDCARD, ConsentIn, Decision, Reason
from consent.rules import PersonFacts, self_determination_instant
from gateway.console.deps import Form
from gateway.console.i18n import Formatter, field_message
from gateway.intake.services import Services
from schemas import Agency, Category, Family

RESTRICTION_ROWS = 2
EVIDENCE_METHODS = ("written", "electronic", "oral")
DOMAINS = tuple(dict.fromkeys(c.domain for c in Category))


@dataclass
class Draft:
    """The form's contents as the coordinator filled them in (strings, not yet validated)."""

    subject: str
    given_by: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    purpose: str = DEFAULT_PURPOSE
    valid_until: str = ""
    restrictions: list[tuple[str, str]] = field(default_factory=list)
    evidence_method: str = "written"
    evidence_reference: str = ""

    @classmethod
    def blank(
        cls, family: Family, facts: PersonFacts, services: Services, at: dt.datetime
    ) -> Draft:
        """A new form: the team on both sides, and the people who must sign ticked."""
        team = [a.value for a in family.team]
        signers: set[str] = set()
        for rule in signer_rules(facts, services, [WILDCARD], at):
            signers |= rule.signers
        return cls(
            subject=facts.person,
            given_by=sorted(signers),
            sources=team,
            recipients=team,
        )

    @classmethod
    def from_form(cls, subject: str, form: Form) -> Draft:
        restrictions = []
        for i in range(RESTRICTION_ROWS):
            recipient, category = (
                form.get(f"restrict-{i}-recipient"),
                form.get(f"restrict-{i}-category"),
            )
            if recipient or category:
                restrictions.append((recipient, category))
        return cls(
            subject=subject,
            given_by=form.getlist("given_by"),
            sources=form.getlist("sources"),
            recipients=form.getlist("recipients"),
            categories=form.getlist("categories"),
            purpose=form.get("purpose") or DEFAULT_PURPOSE,
            valid_until=form.get("valid_until"),
            restrictions=restrictions,
            evidence_method=form.get("evidence_method"),
            evidence_reference=form.get("evidence_reference"),
        )

    def consent_in(self, fmt: Formatter, *, for_preview: bool = False) -> ConsentIn:
        """The consent to record (ValidationError names the form's fields by their names).

        A preview needs no evidence reference yet (it does not change any decision).
        """
        valid_until = None
        if self.valid_until:
            # The form's last day is included: the consent ends at the next local midnight.
            last = dt.date.fromisoformat(self.valid_until)
            valid_until = fmt.local_midnight(last + dt.timedelta(days=1))
        return ConsentIn.model_validate(
            {
                "subject": self.subject,
                "given_by": self.given_by,
                "sources": self.sources,
                "recipients": self.recipients,
                "categories": self.categories,
                "purpose": self.purpose,
                "valid_until": valid_until,
                "evidence": {
                    "method": self.evidence_method,
                    "reference": self.evidence_reference or ("-" if for_preview else ""),
                },
                "restrictions": [
                    {"recipients": [r], "categories": [c]} for r, c in self.restrictions
                ],
            }
        )


def form_errors(exc: ValidationError | ValueError, fmt: Formatter) -> dict[str, str]:
    """Validation errors by form field name (the consent's own field names, flattened)."""
    if not isinstance(exc, ValidationError):
        return {"valid_until": fmt.gettext("Give a date as YYYY-MM-DD.")}
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if not (isinstance(p, str) and "[" in p)]
        name = loc[0] if loc else "form"
        if name == "evidence" and len(loc) > 1:
            name = f"evidence_{loc[1]}"
        if name == "restrictions":
            name = f"restrict-{loc[1]}" if len(loc) > 1 else name
        errors.setdefault(name, field_message(error, fmt))
    return errors


# --- who must sign ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignerRule:
    """For one domain of categories: the age of self-determination and who must sign now."""

    domain: str
    age: int
    decides_alone: bool
    from_day: dt.date  # the birthday from which the person decides alone
    signers: frozenset[str]


def _domains(categories: list[str]) -> list[str]:
    if not categories or WILDCARD in categories:
        return list(DOMAINS)
    known = {c.value: c for c in Category}
    return list(dict.fromkeys(known[c].domain for c in categories if c in known))


def signer_rules(
    facts: PersonFacts, services: Services, categories: list[str], at: dt.datetime
) -> list[SignerRule]:
    """Who must sign for each domain the categories touch, by the instance's age rules."""
    rules = services.consents.rules
    out = []
    for domain in _domains(categories):
        age = rules.age_for(facts.jurisdiction, domain)
        instant = self_determination_instant(facts.birth_date, age, facts.jurisdiction)
        alone = at >= instant
        out.append(SignerRule(domain, age, alone, instant.date(), facts.required_consenters(alone)))
    return out


def grouped(rules: list[SignerRule]) -> list[tuple[list[str], SignerRule]]:
    """Domains whose rule is the same (age, alone or not, signers), shown as one line."""
    groups: dict[tuple[int, bool, frozenset[str]], tuple[list[str], SignerRule]] = {}
    for rule in rules:
        key = (rule.age, rule.decides_alone, rule.signers)
        groups.setdefault(key, ([], rule))[0].append(rule.domain)
    return list(groups.values())


# --- the decision preview -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    permit: bool
    reason: Reason
    mixed: bool = False  # permitted for some of the sources only


@dataclass(frozen=True)
class PreviewRow:
    recipient: str
    category: str
    now: Outcome
    after: Outcome

    @property
    def changes(self) -> bool:
        return self.now != self.after


def _combine(decisions: list[Decision]) -> Outcome:
    permitted = [d for d in decisions if d.permit]
    if decisions and len(permitted) == len(decisions):
        return Outcome(True, permitted[0].reason)
    denied = next(d for d in decisions if not d.permit) if decisions else None
    reason = denied.reason if denied is not None else Reason.NO_CONSENT
    return Outcome(False, reason, mixed=bool(permitted))


def _expand(values: list[str], every: list[str]) -> list[str]:
    return every if WILDCARD in values else values


def preview(
    services: Services,
    facts: PersonFacts,
    consent: ConsentIn,
    family: Family,
    at: dt.datetime,
) -> list[PreviewRow]:
    """Each (recipient, category) of the consent: the decision now and with it recorded,
    over every source it names (a recipient is never its own source)."""
    team = [a.value for a in family.team]
    everyone = [a.value for a in Agency]
    document: dict[str, Any] = {
        **consent.model_dump(mode="json"),
        "consent_id": "draft-preview",
        "version": 1,
        "status": "active",
        "valid_from": (consent.valid_from or at).isoformat(),
    }
    sources = _expand([str(s) for s in consent.sources], everyone)
    recipients = _expand([str(r) for r in consent.recipients], team)
    categories = _expand([str(c) for c in consent.categories], [c.value for c in Category])
    index = services.consents
    rows = []
    for recipient in recipients:
        now: dict[str, list[Decision]] = {c: [] for c in categories}
        after: dict[str, list[Decision]] = {c: [] for c in categories}
        for source in sources:
            if source == recipient:
                continue
            args = (consent.subject, source, recipient, categories, consent.purpose, at, facts)
            for category, decision in zip(categories, index.decide_many(*args), strict=True):
                now[category].append(decision)
            drafted = index.decide_many_as_if([document], *args)
            for category, decision in zip(categories, drafted, strict=True):
                after[category].append(decision)
        for category in categories:
            rows.append(
                PreviewRow(recipient, category, _combine(now[category]), _combine(after[category]))
            )
    return rows
