"""`helhet receive` (or `helhet-receive`): consume an agency's topic, verify and decrypt, print
one JSON line per record; refused records print as {"kind": "error", …} and make the exit 1.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from recipient.errors import RecipientError
from recipient.keys import load_agency_private_key, load_gateway_keys
from recipient.receiver import ReceivedMessage, Receiver
from recipient.topics import topic_for, topic_partitions
from schemas import Agency

MUNICIPALITY = re.compile(r"[0-9]{3,4}")
TOPIC_CHECK_TIMEOUT_MS = 15000


def message_line(item: ReceivedMessage) -> dict[str, Any]:
    """The JSON object printed for one record."""
    where = {"topic": item.topic, "partition": item.partition, "offset": item.offset}
    if item.message is None:
        error = item.error
        return {
            "kind": "error",
            "error": type(error).__name__,
            "detail": str(error),
            **where,
        }
    opened = item.message
    return {
        "kind": opened.kind,
        "message_id": opened.message_id,
        "family_id": opened.family_id,
        "source": opened.source,
        "created_at": opened.envelope["created_at"],
        "disclosure_index": opened.disclosure_index,
        **where,
        "payload": opened.payload,
    }


@click.command("receive")
@click.option(
    "--agency",
    required=True,
    type=click.Choice([a.value for a in Agency]),
    help="The receiving agency.",
)
@click.option(
    "--private-key",
    "private_key_paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The agency's X25519 private key (PEM); repeat it to keep opening messages sealed "
    "for keys rotated out (the current key first).",
)
@click.option("--municipality", help="Municipality number; the topic is helhet.<m>.<agency>.")
@click.option("--topic", help="Topic to read (default helhet.<municipality>.<agency>).")
@click.option("--group", "group_id", help="Consumer group (offsets are committed when given).")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record if no offset.")
@click.option("--bootstrap-servers", default="127.0.0.1:9092", show_default=True)
@click.option(
    "--gateway-key",
    "gateway_key",
    required=True,
    help="The gateway's signing key: a PEM file, a JWK-set file, or the URL of GET /v1/keys.",
)
@click.option("--max-messages", type=click.IntRange(min=1), help="Stop after N records.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0),
    help="Stop after S seconds without a record (default: run until Ctrl-C).",
)
def command(
    agency: str,
    private_key_paths: tuple[Path, ...],
    municipality: str | None,
    topic: str | None,
    group_id: str | None,
    from_beginning: bool,
    bootstrap_servers: str,
    gateway_key: str,
    max_messages: int | None,
    timeout_s: float | None,
) -> None:
    """Verify, decrypt and print the PlanUpdates and withdrawal notices sent to AGENCY."""
    if municipality is not None and not MUNICIPALITY.fullmatch(municipality):
        raise click.BadParameter(
            "a municipality number has 3 or 4 digits", param_hint="--municipality"
        )
    if topic is None:
        if municipality is None:
            raise click.UsageError("give --municipality (or --topic)")
        topic = topic_for(municipality, agency)
    try:
        private_keys = [load_agency_private_key(path) for path in private_key_paths]
        gateway_keys = load_gateway_keys(gateway_key)
        if not topic_partitions(bootstrap_servers, topic, TOPIC_CHECK_TIMEOUT_MS):
            raise click.ClickException(
                f"the topic {topic} does not exist at {bootstrap_servers}: check --municipality "
                "and --agency (the gateway creates its agencies' topics when its relay starts)"
            )
    except (OSError, ValueError, RecipientError) as exc:
        raise click.ClickException(str(exc)) from exc
    errors = 0
    try:
        with Receiver(
            bootstrap_servers.split(","),
            topic,
            private_keys,
            gateway_keys,
            group_id=group_id,
            from_beginning=from_beginning,
            expected_recipient=agency,
            expected_municipality=municipality,
        ) as receiver:
            for item in receiver.iter_messages(timeout_s, max_messages=max_messages):
                if not item.ok:
                    errors += 1
                click.echo(json.dumps(message_line(item), ensure_ascii=False))
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    except RecipientError as exc:
        raise click.ClickException(str(exc)) from exc
    if errors:
        click.echo(f"{errors} record(s) refused", err=True)
        sys.exit(1)


def main() -> None:
    """The `helhet-receive` entry point: the same command without the gateway's CLI around it."""
    command(prog_name="helhet-receive")
