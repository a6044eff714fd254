"""Plan entries recorded through the plan's own functions, without HTTP (unit tests of the
overview, the lifecycle and the CLI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.intake.services import Services
from gateway.plan import changes
from gateway.plan.models import EntryKind
from tests.helpers.intake import NOW


def add(
    services: Services,
    family_id: str,
    kind: str,
    now: dt.datetime = NOW,
    **document: Any,
) -> changes.Recorded:
    """Record a new entry as POST /v1/plans/{family_id}/{kind}s does."""
    return changes.add_entry(
        services, family_id, EntryKind(kind), document, client="coordinator", now=now
    )
