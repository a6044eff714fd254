"""The in-memory consent index every gateway process decides from: latest versions by subject,
the statutory bases and the age rules; kept current from the store's change sequence.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from consent import store
from consent.engine import (
    DOMAINS,
    AgeClock,
    DecisionCache,
    Entry,
    StatuteTable,
    compile_document,
    decide,
)
from consent.models import ConsentRecord, Decision, StatutoryBasis
from consent.rules import AgeRules, PersonFacts


class ConsentIndex:
    """Latest version of every consent, by subject; answers decisions in microseconds.

    Build it once at start (`load`), then call `refresh(conn)` before each forward: it reads
    only the versions recorded (by any process) since the last one it saw. Decisions are
    thread-safe; loading and refreshing serialise on a lock.
    """

    def __init__(
        self, statutes: Iterable[StatutoryBasis] = (), rules: AgeRules | None = None
    ) -> None:
        self._by_subject: dict[str, tuple[Entry, ...]] = {}
        self._count = 0
        self._seq = 0
        self._lock = threading.Lock()
        self._statutes = StatuteTable(statutes)
        self._clock = AgeClock(rules if rules is not None else AgeRules())
        self._cache = DecisionCache()

    # --- configuration --------------------------------------------------------------------

    @property
    def statutes(self) -> tuple[StatutoryBasis, ...]:
        """The configured statutory bases, by id (what privacy officers list)."""
        return self._statutes.statutes

    @property
    def rules(self) -> AgeRules:
        return self._clock.rules

    @property
    def seq(self) -> int:
        """The highest change sequence number applied from the store."""
        return self._seq

    def __len__(self) -> int:
        """The number of consents (each counted once, at its latest version)."""
        return self._count

    # --- keeping current ------------------------------------------------------------------

    def load(self, conn: sa.Connection) -> int:
        """Replace the contents with every consent in the store; return how many."""
        with self._lock:
            self._by_subject = {}
            self._count = 0
            self._seq = 0
            self._seq = self._apply_changes(conn)
            return self._count

    def refresh(self, conn: sa.Connection) -> int:
        """Apply versions recorded since the last seen sequence; return how many were read.

        One indexed range query; when nothing changed it returns no rows.
        """
        with self._lock:
            before = self._seq
            seen = 0
            for seq, document in store.documents_since(conn, before):
                self._apply(document)
                self._seq = seq
                seen += 1
            return seen

    def _apply_changes(self, conn: sa.Connection) -> int:
        last = self._seq
        for seq, document in store.documents_since(conn, last):
            self._apply(document)
            last = seq
        return last

    def add(self, record: ConsentRecord) -> None:
        """Apply one version (e.g. the one just committed); older versions are ignored."""
        with self._lock:
            self._apply(record.model_dump(mode="json"))

    def add_documents(self, documents: Iterable[Mapping[str, Any]]) -> None:
        """Apply stored-form documents in bulk (no validation: they come from the store)."""
        with self._lock:
            for document in documents:
                self._apply(document)

    def _apply(self, document: Mapping[str, Any]) -> None:
        entry = compile_document(document)
        current = self._by_subject.get(entry.subject, ())
        for i, existing in enumerate(current):
            if existing.consent_id == entry.consent_id:
                if existing.version >= entry.version:
                    return
                self._by_subject[entry.subject] = (*current[:i], entry, *current[i + 1 :])
                return
        self._by_subject[entry.subject] = (*current, entry)
        self._count += 1

    # --- deciding -------------------------------------------------------------------------

    def decide(
        self,
        subject: str,
        source: str,
        recipient: str,
        category: str,
        purpose: str,
        at: dt.datetime,
        facts: PersonFacts,
    ) -> Decision:
        """Permit or deny one disclosure (DESIGN §6; docs/consent.md)."""
        return decide(
            self._by_subject.get(subject),
            self._statutes,
            self._clock,
            self._cache,
            source,
            recipient,
            category,
            purpose,
            at,
            facts,
        )

    def decide_many(
        self,
        subject: str,
        source: str,
        recipient: str,
        categories: Sequence[str],
        purpose: str,
        at: dt.datetime,
        facts: PersonFacts,
    ) -> list[Decision]:
        """One decision per category, in the order given."""
        entries = self._by_subject.get(subject)
        return self._each(entries, self._cache, source, recipient, categories, purpose, at, facts)

    def decide_many_as_if(
        self,
        drafts: Iterable[Mapping[str, Any]],
        subject: str,
        source: str,
        recipient: str,
        categories: Sequence[str],
        purpose: str,
        at: dt.datetime,
        facts: PersonFacts,
    ) -> list[Decision]:
        """`decide_many` as if the draft consents (stored-form documents of the subject, not
        recorded) were in the index too: the decision a coordinator sees before saving one.
        The drafts' decisions never enter the shared cache.
        """
        entries = (*self._by_subject.get(subject, ()), *(compile_document(d) for d in drafts))
        cache = DecisionCache()
        return self._each(entries, cache, source, recipient, categories, purpose, at, facts)

    def _each(
        self,
        entries: Sequence[Entry] | None,
        cache: DecisionCache,
        source: str,
        recipient: str,
        categories: Sequence[str],
        purpose: str,
        at: dt.datetime,
        facts: PersonFacts,
    ) -> list[Decision]:
        statutes, clock = self._statutes, self._clock
        return [
            decide(entries, statutes, clock, cache, source, recipient, c, purpose, at, facts)
            for c in categories
        ]

    def unchanged_between(
        self,
        subject: str,
        categories: Iterable[str],
        since: dt.datetime,
        until: dt.datetime,
        facts: PersonFacts,
    ) -> bool:
        """Whether no time limit that decisions about `subject` depend on lies in (since,
        until]: no start or end of one of the subject's consents, no instant from which the
        subject decides alone for one of the categories' domains. Decisions change only at
        those instants (a consent is in force from its start, inclusive, to its end,
        exclusive), so with the index itself unchanged (the same `seq`) a decision at `until`
        is the one made at `since`."""
        lo, hi = since.timestamp(), until.timestamp()
        if hi < lo:
            return False
        for entry in self._by_subject.get(subject, ()):
            if lo < entry.start <= hi or lo < entry.end <= hi:
                return False
        for category in categories:
            domain = DOMAINS.get(category)
            if domain is None or lo < self._clock.instant(facts, domain) <= hi:
                return False
        return True

    def consents_of(self, subject: str) -> list[tuple[str, int]]:
        """(consent id, latest version) of the subject's consents, by id."""
        return sorted((e.consent_id, e.version) for e in self._by_subject.get(subject, ()))
