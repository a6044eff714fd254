"""Who may do what: the roles each kind of operation admits, in one table that the API's
routers and the console's pages both enforce (through `gateway.api.deps.authorize`).
"""

from __future__ import annotations

from gateway.api.clients import Role

Roles = frozenset[Role]

# The disclosure log's entries, exports and subject access reports.
READ_LOG: Roles = frozenset({Role.PRIVACY_OFFICER})
# The log's integrity: checkpoints, consistency proofs, verification.
CHECK_LOG: Roles = frozenset({Role.PRIVACY_OFFICER, Role.OPERATOR})
# Families and their teams: enrol, read, change.
MANAGE_FAMILIES: Roles = frozenset({Role.COORDINATOR})
# Recording and withdrawing consent.
RECORD_CONSENT: Roles = frozenset({Role.COORDINATOR})
# Reading consents and their history.
READ_CONSENT: Roles = frozenset({Role.COORDINATOR, Role.PRIVACY_OFFICER})
# Signing in to the web console: people, never agency systems.
USE_CONSOLE: Roles = frozenset({Role.COORDINATOR, Role.PRIVACY_OFFICER, Role.OPERATOR})
# Reading the configured statutory bases.
READ_LEGAL_BASES: Roles = frozenset({Role.COORDINATOR, Role.PRIVACY_OFFICER})
# Asking for a decision (agencies see permit/deny and the reason only).
ASK_DECISION: Roles = frozenset({Role.COORDINATOR, Role.PRIVACY_OFFICER, Role.AGENCY})
# Submitting records as an agency system.
SUBMIT_RECORDS: Roles = frozenset({Role.AGENCY})
# The operator's metrics.
READ_METRICS: Roles = frozenset({Role.OPERATOR})
# The family plan: reading and writing goals, measures, meetings, evaluations; closing it.
MANAGE_PLANS: Roles = frozenset({Role.COORDINATOR})
# A member's overview of the plan (an agency only its own).
ASK_OVERVIEW: Roles = frozenset({Role.COORDINATOR, Role.AGENCY})
# What will be deleted when (a plan's retention).
READ_RETENTION: Roles = frozenset({Role.COORDINATOR, Role.PRIVACY_OFFICER, Role.OPERATOR})
