"""The decision engine: compiled consents (lean slotted entries) and the pure `decide` over them.

No I/O and no pydantic in the loop; `ConsentIndex` (index.py) owns the entries and calls this.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from consent.errors import InvalidConsent
from consent.models import WILDCARD, ConsentStatus, Decision, Reason, StatutoryBasis
from consent.rules import AgeRules, PersonFacts, self_determination_instant
from schemas import Agency, Category

DOMAINS: dict[str, str] = {c.value: c.domain for c in Category}
AGENCIES: tuple[str, ...] = tuple(a.value for a in Agency)

# Which deny reason wins when several consents are in play (lower wins; ties: lowest id).
_RANK: dict[Reason, int] = {
    Reason.RESTRICTED: 0,
    Reason.GUARDIAN_MISSING: 1,
    Reason.SUBJECT_MUST_CONSENT: 1,
    Reason.WITHDRAWN: 2,
    Reason.EXPIRED: 3,
    Reason.NOT_YET_VALID: 4,
    Reason.OUT_OF_SCOPE: 5,
    Reason.NO_CONSENT: 6,
}

NO_CONSENT = Decision(permit=False, reason=Reason.NO_CONSENT)
OUT_OF_SCOPE = Decision(permit=False, reason=Reason.OUT_OF_SCOPE)

_CACHE_LIMIT = 100_000

Scope = frozenset[str] | None  # None is "*"
_interned_scopes: dict[tuple[str, ...], frozenset[str]] = {}
_interned_restrictions: dict[tuple[tuple[Scope, Scope], ...], tuple[tuple[Scope, Scope], ...]] = {}


def _scope(values: Iterable[Any]) -> Scope:
    key = tuple(sorted({str(v) for v in values}))
    if WILDCARD in key:
        return None
    found = _interned_scopes.get(key)
    if found is None:
        found = _interned_scopes.setdefault(key, frozenset(key))
    return found


def _timestamp(value: Any) -> float:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InvalidConsent("a consent time must be an aware date-time", field="valid_from")
    return value.timestamp()


class Entry:
    """The latest version of one consent, compiled for the decision loop."""

    __slots__ = (
        "active",
        "categories",
        "consent_id",
        "end",
        "given_by",
        "purpose",
        "recipients",
        "restrictions",
        "sources",
        "start",
        "subject",
        "version",
    )

    def __init__(
        self,
        consent_id: str,
        version: int,
        subject: str,
        active: bool,
        sources: Scope,
        recipients: Scope,
        categories: Scope,
        purpose: str,
        start: float,
        end: float,
        given_by: tuple[str, ...],
        restrictions: tuple[tuple[Scope, Scope], ...],
    ) -> None:
        self.consent_id = consent_id
        self.version = version
        self.subject = subject
        self.active = active
        self.sources = sources
        self.recipients = recipients
        self.categories = categories
        self.purpose = purpose
        self.start = start
        self.end = end
        self.given_by = given_by
        self.restrictions = restrictions


def compile_document(doc: Mapping[str, Any]) -> Entry:
    """An Entry from a stored consent document (ConsentRecord JSON form, already validated)."""
    restrictions = tuple(
        (_scope(r["recipients"]), _scope(r["categories"])) for r in doc.get("restrictions", ())
    )
    shared = _interned_restrictions.setdefault(restrictions, restrictions)
    until = doc.get("valid_until")
    return Entry(
        consent_id=sys.intern(str(doc["consent_id"])),
        version=int(doc["version"]),
        subject=sys.intern(str(doc["subject"])),
        active=doc.get("status", ConsentStatus.ACTIVE) == ConsentStatus.ACTIVE,
        sources=_scope(doc["sources"]),
        recipients=_scope(doc["recipients"]),
        categories=_scope(doc["categories"]),
        purpose=sys.intern(str(doc["purpose"])),
        start=_timestamp(doc["valid_from"]),
        end=math.inf if until is None else _timestamp(until),
        given_by=tuple(sys.intern(str(p)) for p in doc["given_by"]),
        restrictions=shared,
    )


class StatuteTable:
    """Statutory bases by (source, recipient, category): each a (purpose or None, Decision)."""

    __slots__ = ("by_key", "statutes")

    def __init__(self, statutes: Iterable[StatutoryBasis] = ()) -> None:
        self.statutes: tuple[StatutoryBasis, ...] = tuple(sorted(statutes, key=lambda s: s.id))
        ids = [s.id for s in self.statutes]
        if len(set(ids)) != len(ids):
            raise InvalidConsent("two statutory bases share an id", field="statutes")
        by_key: dict[tuple[str, str, str], list[tuple[str | None, Decision]]] = {}
        for statute in self.statutes:
            decision = Decision(
                permit=True,
                reason=Reason.PERMITTED_BY_STATUTE,
                basis=statute.basis,
                statute_id=statute.id,
            )
            purpose = None if statute.purpose == WILDCARD else statute.purpose
            sources = _scope(statute.sources) or AGENCIES
            recipients = _scope(statute.recipients) or AGENCIES
            categories = _scope(statute.categories) or tuple(DOMAINS)
            for s in sources:
                for r in recipients:
                    for c in categories:
                        by_key.setdefault((s, r, c), []).append((purpose, decision))
        self.by_key = {key: tuple(value) for key, value in by_key.items()}

    def find(self, source: str, recipient: str, category: str, purpose: str) -> Decision | None:
        for wanted, decision in self.by_key.get((source, recipient, category), ()):
            if wanted is None or wanted == purpose:
                return decision
        return None


class AgeClock:
    """The instant (POSIX seconds) a person starts deciding alone for a domain; memoised."""

    __slots__ = ("_cache", "rules")

    def __init__(self, rules: AgeRules) -> None:
        self.rules = rules
        self._cache: dict[tuple[dt.date, str, str], float] = {}

    def instant(self, facts: PersonFacts, domain: str) -> float:
        key = (facts.birth_date, facts.jurisdiction, domain)
        found = self._cache.get(key)
        if found is None:
            age = self.rules.age_for(facts.jurisdiction, domain)
            found = self_determination_instant(
                facts.birth_date, age, facts.jurisdiction
            ).timestamp()
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found


_CONSENT_FIELDS = frozenset({"permit", "reason", "basis", "consent_id", "consent_version"})
_new = object.__new__
_set = object.__setattr__


def consent_decision(consent_id: str, version: int, reason: Reason) -> Decision:
    """A Decision naming a consent version, built without re-validating what the engine made.

    Equal in every respect to `Decision(permit=..., reason=..., basis=..., consent_id=...,
    consent_version=...)` (tests/consent/test_engine.py checks it) at about half the cost.
    """
    decision: Decision = _new(Decision)
    _set(
        decision,
        "__dict__",
        {
            "permit": reason is Reason.PERMITTED_BY_CONSENT,
            "reason": reason,
            "basis": f"consent:{consent_id}@{version}",
            "consent_id": consent_id,
            "consent_version": version,
            "statute_id": None,
        },
    )
    _set(decision, "__pydantic_fields_set__", set(_CONSENT_FIELDS))
    _set(decision, "__pydantic_extra__", None)
    _set(decision, "__pydantic_private__", None)
    return decision


class DecisionCache:
    """Decisions that name a consent version are immutable: build each once (bounded)."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, Reason], Decision] = {}

    def get(self, entry: Entry, reason: Reason) -> Decision:
        key = (entry.consent_id, entry.version, reason)
        found = self._cache.get(key)
        if found is None:
            found = consent_decision(entry.consent_id, entry.version, reason)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found


def decide(
    entries: Sequence[Entry] | None,
    statutes: StatuteTable,
    clock: AgeClock,
    cache: DecisionCache,
    source: str,
    recipient: str,
    category: str,
    purpose: str,
    at: dt.datetime,
    facts: PersonFacts,
) -> Decision:
    """Permit or deny one disclosure; see docs/consent.md for the rules in prose.

    Default deny. A restriction in any consent in force whose sources and purpose cover the
    request denies it (deny overrides permit). Otherwise a consent in force that covers the
    request and was given by the right people permits it; failing that a statutory basis
    does. The deny reason is the most telling one over the subject's consents, ties broken by
    the lowest consent id, so the answer never depends on the order consents were recorded.
    """
    domain = DOMAINS.get(category)
    if domain is None:
        raise InvalidConsent(f"unknown category {category!r}", field="category")
    if at.tzinfo is None:
        raise InvalidConsent("the decision time must be an aware date-time", field="at")
    ts = at.timestamp()
    permit: Entry | None = None
    best: Entry | None = None
    best_reason = Reason.NO_CONSENT
    best_rank = 6
    if entries:
        best_rank = 5
        best_reason = Reason.OUT_OF_SCOPE
        required: frozenset[str] | None = None  # who must have consented; worked out once
        missing = Reason.GUARDIAN_MISSING  # the reason when one of them has not
        for e in entries:
            if e.purpose != purpose:
                continue
            s = e.sources
            if s is not None and source not in s:
                continue
            active = e.active
            if active and e.restrictions and e.start <= ts < e.end:
                for rr, rc in e.restrictions:
                    if (rr is None or recipient in rr) and (rc is None or category in rc):
                        if best_rank > 0 or (best is not None and e.consent_id < best.consent_id):
                            best, best_rank, best_reason = e, 0, Reason.RESTRICTED
                        break
            r = e.recipients
            if r is not None and recipient not in r:
                continue
            c = e.categories
            if c is not None and category not in c:
                continue
            if not active:
                reason = Reason.WITHDRAWN
            elif ts < e.start:
                reason = Reason.NOT_YET_VALID
            elif ts >= e.end:
                reason = Reason.EXPIRED
            else:
                if required is None:
                    if facts.person != e.subject:
                        raise InvalidConsent("facts are about another person", field="facts")
                    alone = ts >= clock.instant(facts, domain)
                    required = facts.required_consenters(alone)
                    if alone:
                        missing = Reason.SUBJECT_MUST_CONSENT
                if required and required.issubset(e.given_by):
                    if permit is None or e.consent_id < permit.consent_id:
                        permit = e
                    continue
                reason = missing
            rank = _RANK[reason]
            if rank < best_rank or (
                rank == best_rank and best is not None and e.consent_id < best.consent_id
            ):
                best, best_rank, best_reason = e, rank, reason
    if permit is not None and best_rank > 0:
        return cache.get(permit, Reason.PERMITTED_BY_CONSENT)
    by_statute = statutes.find(source, recipient, category, purpose)
    if by_statute is not None:
        return by_statute
    if best is None:
        return NO_CONSENT if best_reason is Reason.NO_CONSENT else OUT_OF_SCOPE
    return cache.get(best, best_reason)
