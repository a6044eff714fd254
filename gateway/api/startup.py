"""What `helhet serve` says when it starts: which instance, which database and schema, which
broker and whether the relay runs here, checkpoints and witnesses, the plan's retention."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from audit.checkpoint import latest_checkpoint
from gateway.config.instance import Instance
from gateway.db import migrate
from gateway.db.engine import reading

log = logging.getLogger("helhet.serve")


def report(instance: Instance, *, version: str, relay: bool) -> list[str]:
    """Log (and return) the start-up lines; they name no secret (the database password is
    masked)."""
    settings = instance.settings
    url = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    with reading(instance.engine) as conn:
        latest = latest_checkpoint(conn)
    lines = [
        f"helhet {version} for {settings.municipality_name or settings.municipality} "
        f"(municipality {settings.municipality}, {settings.jurisdiction}; {settings.environment})",
        f"database {url} at schema revision {migrate.current_revision(instance.engine)}",
        f"Kafka at {settings.kafka_bootstrap_servers}: "
        + (
            f"the relay runs here (topics helhet.{settings.municipality}.<agency>; /readyz "
            "says when it has reached the broker)"
            if relay
            else "the relay is off here (relay_enabled = false): run `helhet relay`"
        ),
        "disclosure log: "
        + (
            f"latest signed checkpoint of {latest.checkpoint.size} entries"
            if latest is not None
            else "no checkpoint yet"
        )
        + f"; signed every {settings.checkpoint_interval_seconds} s while the log grows"
        + (f"; {len(settings.witnesses)} witness(es)" if settings.witnesses else "")
        + (
            f"; published to {settings.checkpoint_publish_dir}"
            if settings.checkpoint_publish_dir
            else ""
        ),
        "family plans: deleted "
        f"{settings.plan_retention_days} days after they close"
        + (
            f", checked every {settings.plan_sweep_interval_seconds} s"
            if settings.plan_sweep_interval_seconds
            else " (checked by `helhet plan sweep`, not here)"
        ),
    ]
    for line in lines:
        log.info("%s", line)
    return lines
