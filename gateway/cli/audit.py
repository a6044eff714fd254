"""`helhet audit …`: verify the disclosure log, sign or witness a checkpoint, reconcile the
topics with the log, and a person's access report (letter, CSV or FHIR).

`verify` exits 1 with a precise report when anything was changed, removed, reordered or forged.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.cli._context import load_instance, utcnow
from gateway.config.instance import Instance
from gateway.db.engine import reading
from schemas import Agency


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
    """Recompute the whole log and check every hash, checkpoint and signature.

    The checkpoints published outside the database (checkpoint_publish_dir) are checked too,
    with their witnesses' cosignatures: a log smaller than, or inconsistent with, one of them
    fails, even where the head and the stored checkpoints were rewritten to match.
    """
    from audit import verify_log
    from audit.verify import CHECKPOINT_FORGED, Problem
    from gateway.checkpoints.rollback import published
    from recipient.keys import load_signing_public_key

    instance = load_instance(ctx)
    keys = (
        [load_signing_public_key(public_key)]
        if public_key is not None
        else instance.signing_public_keys
    )
    notes = [path.read_text("utf-8") for path in checkpoint_files]
    found, problems = published(instance)
    notes += [p.note for p in found]
    with reading(instance.engine) as conn:
        report = verify_log(conn, keys[0], instance.origin, notes, more_keys=keys[1:])
    for problem in problems:
        report.add(Problem(CHECKPOINT_FORGED, problem))
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.summary())
    if not as_json and found:
        latest = max(found, key=lambda p: p.checkpoint.size)
        witnessed = ", ".join(latest.witnessed_by) or "no witness"
        click.echo(
            f"published: {len(found)} checkpoint(s), latest of size "
            f"{latest.checkpoint.size} cosigned by {witnessed}"
        )
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
    from gateway.checkpoints.witnesses import publish

    instance = load_instance(ctx)
    try:
        with instance.engine.begin() as conn:
            stored = issue_checkpoint(
                conn,
                instance.signing_key,
                instance.origin,
                utcnow(),
                previous_keys=instance.signing_public_keys[1:],
            )
    except AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in publish(instance, stored):
        click.echo(f"warning: {problem}", err=True)
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
    from gateway.config.keys import load_signing_key

    instance = load_instance(ctx)
    witness_key = load_signing_key(key_file)
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
                now=utcnow(),
            )
    except AuditError as exc:
        click.echo(f"refused: {exc}", err=True)
        raise SystemExit(1) from None
    if out is not None:
        out.write_text(result.note, "utf-8")
        click.echo(f"co-signed checkpoint of size {result.checkpoint.size} written to {out}")
    else:
        click.echo(result.note, nl=False)


@group.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.pass_context
def reconcile(ctx: click.Context, as_json: bool) -> None:
    """Report Kafka messages without a disclosure entry and deliveries without their message.

    Exits 1 when anything does not match.
    """
    from gateway.delivery.reconcile import reconcile as reconcile_topics

    instance = load_instance(ctx)
    settings = instance.settings
    topics = [settings.topic(a.value) for a in Agency]
    with reading(instance.engine) as conn:
        report = reconcile_topics(conn, settings.kafka_bootstrap_servers, topics)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(
            f"{report.messages} message(s) on {len(topics)} topic(s); "
            f"{report.disclosures} disclosure and {report.deliveries} delivery entries"
        )
        for label, items in (
            ("without a disclosure entry", report.unlogged),
            ("altered (hash differs from the log)", report.altered),
            ("published more than once", report.duplicates),
        ):
            for m in items:
                index = "" if m.disclosure_index is None else f" (entry {m.disclosure_index})"
                click.echo(f"  {m.topic}[{m.partition}]@{m.offset} {m.message_id}{index}: {label}")
        for m in report.unrecorded:
            click.echo(
                f"  {m.topic}[{m.partition}]@{m.offset} {m.message_id} (entry "
                f"{m.disclosure_index}): on the topic, its delivery not recorded (yet)"
            )
        for where in report.missing:
            click.echo(
                f"  delivery of {where['message_id']} (entry {where['index']}) not found "
                f"at {where['topic']}[{where['partition']}]@{where['offset']}"
            )
        for cause in report.causes:
            click.echo(f"likely cause: {cause}")
        click.echo("reconcile: clean" if report.clean else "reconcile: MISMATCH")
    if not report.clean:
        ctx.exit(1)


@group.command("report")
@click.argument("person")
@click.option(
    "--format",
    "form",
    type=click.Choice(["html", "csv", "fhir"]),
    default="html",
    show_default=True,
    help="html: the printable letter to the citizen; csv: every entry; fhir: an AuditEvent "
    "Bundle (R4).",
)
@click.option(
    "--lang",
    type=click.Choice(["nb", "da", "en"]),
    default=None,
    help="The letter's language (default: nb, or da for a Danish instance).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to this file instead of printing it.",
)
@click.pass_context
def report(ctx: click.Context, person: str, form: str, lang: str | None, out: Path | None) -> None:
    """A person's access report (innsyn, GDPR art. 15) from the log: every recipient, refusal
    and consent. The read is itself logged, naming the operating-system user who ran it."""
    import getpass

    from pydantic import TypeAdapter, ValidationError

    from audit.pseudonym import pseudonymise
    from schemas import PersonId

    instance = load_instance(ctx)
    try:
        number = str(TypeAdapter(PersonId).validate_python(person))
    except ValidationError as exc:
        raise click.BadParameter(
            str(exc.errors()[0]["msg"]).removeprefix("Value error, "), param_hint="PERSON"
        ) from None
    pseudonym = pseudonymise(instance.pseudonym_key, number)
    text = _report_text(instance, number, pseudonym, form, lang)
    from gateway.api import access_log

    access_log.record_read(
        instance.engine,
        client=f"cli:{getpass.getuser()}",
        read="helhet audit report",
        subject_pseudonym=pseudonym,
        details={"format": form},
    )
    if out is not None:
        out.write_text(text, "utf-8")
        click.echo(f"access report ({form}) written to {out}")
    else:
        click.echo(text, nl=False)


def _report_text(
    instance: Instance, person: str, pseudonym: str, form: str, lang: str | None
) -> str:
    """The report as text: the letter (html), the entries (csv) or a FHIR Bundle (fhir)."""
    from audit.query import Filters, export_csv, export_fhir
    from gateway.api.routers.disclosures import agency_names
    from gateway.console.i18n import Formatter, default_language
    from gateway.console.letter import build_report, render_letter

    settings = instance.settings
    names = agency_names(settings)
    now = utcnow()
    with reading(instance.engine) as conn:
        if form == "csv":
            return "".join(export_csv(conn, Filters(subject=pseudonym), names))
        if form == "fhir":
            events = export_fhir(
                conn,
                Filters(subject=pseudonym),
                version="R4",
                origin=settings.origin,
                agency_names=names,
            )
            bundle = {
                "resourceType": "Bundle",
                "type": "collection",
                "timestamp": now.isoformat(),
                "entry": [{"resource": event} for event in events],
            }
            return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
        access = build_report(
            conn,
            person=person,
            pseudonym=pseudonym,
            names=names,
            statutes=settings.statutory_bases,
            municipality=settings.municipality_name or settings.municipality,
            jurisdiction=settings.jurisdiction,
            now=now,
        )
    fmt = Formatter(lang or default_language(settings.jurisdiction), settings.jurisdiction)
    return render_letter(access, fmt, standalone=True)
