"""`helhet translate --agency A FILE`: print the PlanUpdates a file translates to, as JSON.

The first tool an integrator reaches for; exits 2 with the adapter's message on refusal.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from adapters import AdapterError, translate
from schemas import Agency
from schemas.identifiers import set_default_allow_synthetic

_BY_EXTENSION = {
    ".xml": "application/xml",
    ".ndjson": "application/x-ndjson",
    ".jsonl": "application/x-ndjson",
    ".json": "application/json",
}


def content_type_for(path: Path, agency: str) -> str:
    """The content type from the file's extension and the agency (a health .json is FHIR)."""
    suffix = path.suffix.lower()
    if suffix not in _BY_EXTENSION:
        raise click.UsageError(
            f"cannot tell the content type from {path.name!r}; give --content-type"
        )
    if suffix == ".json" and agency == Agency.HEALTH.value:
        return "application/fhir+json"
    return _BY_EXTENSION[suffix]


@click.command("translate")
@click.option(
    "--agency",
    required=True,
    type=click.Choice([a.value for a in Agency]),
    help="The agency whose native format FILE is in.",
)
@click.option("--content-type", default=None, help="Media type; default from the extension.")
@click.option(
    "--allow-synthetic-ids",
    is_flag=True,
    default=False,
    help="Accept synthetic test identifiers (month + 40 / + 80).",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def command(agency: str, content_type: str | None, allow_synthetic_ids: bool, file: Path) -> None:
    """Translate FILE from AGENCY's native format and print the PlanUpdates as a JSON array."""
    if allow_synthetic_ids:
        set_default_allow_synthetic(True)
    media = content_type or content_type_for(file, agency)
    try:
        updates = translate(agency, file.read_bytes(), media)
    except AdapterError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    payload = [u.model_dump(mode="json", by_alias=True, exclude_none=True) for u in updates]
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
