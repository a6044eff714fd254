"""`helhet audit …`: verify the disclosure log, issue a signed checkpoint, witness a checkpoint.

`verify` exits 1 with a precise report when anything was changed, removed, reordered or forged.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@click.group("audit")
def group() -> None:
    """The tamper-evident disclosure log."""


@group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed checkpoint saved earlier (by a witness, agency or officer); repeatable.",
)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Verify with this Ed25519 public key (PEM) instead of the instance's signing key.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def verify(
    ctx: click.Context, checkpoint_files: tuple[Path, ...], public_key: Path | None, as_json: bool
) -> None:
    """Recompute the whole log and check every hash, checkpoint and signature."""
    from audit import verify_log
    from gateway import keys
    from gateway.context import load_instance

    instance = load_instance(ctx)
    public = (
        keys.load_signing_public_key(public_key)
        if public_key is not None
        else instance.signing_key.public_key()
    )
    notes = [path.read_text("utf-8") for path in checkpoint_files]
    with instance.engine.connect() as conn:
        report = verify_log(conn, public, instance.origin, notes)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.summary())
    if not report.ok:
        raise SystemExit(1)


@group.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the signed checkpoint to this file.",
)
@click.pass_context
def checkpoint(ctx: click.Context, out: Path | None) -> None:
    """Sign a checkpoint of the log as it is now and print it."""
    from audit import AuditError, issue_checkpoint
    from gateway.context import load_instance

    instance = load_instance(ctx)
    try:
        with instance.engine.begin() as conn:
            stored = issue_checkpoint(conn, instance.signing_key, instance.origin, _now())
    except AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    if out is not None:
        out.write_text(stored.note, "utf-8")
    click.echo(stored.note, nl=False)


@group.command("witness")
@click.argument("checkpoint_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The witness's own Ed25519 private key (PEM).",
)
@click.option("--name", required=True, help="The witness's key name, e.g. kommune.example/po.")
@click.option(
    "--state",
    "state_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The witness's state file: the last checkpoint it saw (created if absent).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the co-signed checkpoint here (default: print it).",
)
@click.pass_context
def witness(
    ctx: click.Context,
    checkpoint_file: Path,
    key_file: Path,
    name: str,
    state_file: Path,
    out: Path | None,
) -> None:
    """Co-sign CHECKPOINT_FILE if it is consistent with the last checkpoint this witness saw."""
    from audit import AuditError
    from audit.witness import witness_log_checkpoint
    from gateway import keys
    from gateway.context import load_instance

    instance = load_instance(ctx)
    witness_key = keys.load_signing_key(key_file)
    try:
        with instance.engine.begin() as conn:
            result = witness_log_checkpoint(
                conn,
                checkpoint_file.read_text("utf-8"),
                log_public=instance.signing_key.public_key(),
                origin=instance.origin,
                witness_name=name,
                witness_key=witness_key,
                state_path=state_file,
                now=_now(),
            )
    except AuditError as exc:
        click.echo(f"refused: {exc}", err=True)
        raise SystemExit(1) from None
    if out is not None:
        out.write_text(result.note, "utf-8")
        click.echo(f"co-signed checkpoint of size {result.checkpoint.size} written to {out}")
    else:
        click.echo(result.note, nl=False)
