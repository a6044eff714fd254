"""The demo run: bundled broker + gateway on SQLite, a synthetic municipality, records from all
five agencies through the HTTP API, every topic consumed with the receiver, and a summary whose
numbers are checked against the topics and the log.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from audit import log as audit_log
from audit.checkpoint import verify_checkpoint
from audit.entries import EntryType
from audit.verify import verify_log
from gateway.api.app import create_app
from gateway.api.clients import Role, add_client
from gateway.api.server import running_server
from gateway.checkpoints.issuer import issue_now
from gateway.config import keys
from gateway.config.instance import Instance, open_instance
from gateway.config.scaffold import DEFAULT_AGENCY_NAMES
from gateway.config.settings import load_settings
from gateway.console.i18n import Formatter
from gateway.db import migrate, outbox
from gateway.db.engine import reading
from gateway.delivery.reconcile import reconcile
from gateway.demo.municipality import AGENCIES, DemoFamily, consent_requests, generate
from gateway.demo.plans import describe_overview, record_plans
from gateway.demo.records import records_for
from gateway.kafka.broker import EmbeddedBroker, free_port
from recipient.keys import load_agency_private_key
from recipient.receiver import Receiver

Echo = Callable[[str], None]

STATUTE = """
[[statutory_bases]]
id = "bvl-13-2"
law = "barnevernsloven"
section = "§ 13-2"
description = "Duty of public services to inform child welfare of serious concern for a child"
sources = ["school", "health"]
recipients = ["child_welfare"]
categories = ["education.attendance", "health.child", "health.mental"]
"""


@dataclass
class DemoResult:
    records_in: int = 0
    records_refused: int = 0
    records_by_agency: Counter[str] = field(default_factory=Counter)
    rounds: int = 0
    families: int = 0
    persons: int = 0
    consents: int = 0
    withdrawn: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    withheld_items: Counter[str] = field(default_factory=Counter)
    log_size: int = 0
    checkpoint_size: int = 0
    checkpoint_verified: bool = False
    log_verified: bool = False
    reconcile_clean: bool = False
    plans: int = 0
    plan_entries: int = 0
    overview_routes: Counter[str] = field(default_factory=Counter)
    overviews: Counter[str] = field(default_factory=Counter)
    overview_example: list[str] = field(default_factory=list)
    family_copies: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def adds_up(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


class RetryAfter503(httpx.BaseTransport):
    """What an agency system does with a 503 (the database busy for a moment): wait the
    seconds in Retry-After and send the request again (a few times), as docs/integration.md
    asks; nothing of a refused request was stored, so sending it again is safe."""

    ATTEMPTS = 5

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(self.ATTEMPTS - 1):
            response = self.inner.handle_request(request)
            retry_after = response.headers.get("retry-after", "")
            if response.status_code != 503 or not retry_after.isdigit():
                return response
            response.read()
            response.close()
            time.sleep(min(int(retry_after), 30))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def write_instance(directory: Path, kafka: str, port: int) -> Path:
    """A test-mode instance (synthetic identifiers allowed, generated demo keys)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    names = "\n".join(
        f'[agencies.{agency.value}]\nname = "{label} (demo)"\n'
        for agency, label in DEFAULT_AGENCY_NAMES["NO"].items()
    )
    config = directory / "helhet.toml"
    config.write_text(
        "# Written by `helhet demo`: a TEST instance with synthetic people. Never production.\n"
        'municipality = "4699"\nmunicipality_name = "Demo kommune"\njurisdiction = "NO"\n'
        'environment = "test"\nallow_synthetic_ids = true\ndemo_keys = true\n'
        f'database_url = "sqlite:///helhet-demo.db"\nkafka_bootstrap_servers = "{kafka}"\n'
        f"http_port = {port}\nkafka_topic_partitions = 3\nrelay_poll_interval = 0.2\n"
        "checkpoint_interval_seconds = 5\n" + STATUTE + "\n" + names,
        encoding="utf-8",
    )
    keys.generate_signing_key(directory / "keys" / "gateway-signing.pem")
    keys.generate_secret(directory / "keys" / "pseudonym.key")
    for agency in AGENCIES:
        keys.generate_agency_keypair(
            directory / "agency-private" / f"{agency}.key",
            directory / "agency-keys" / f"{agency}.pub.pem",
        )
    return config


def _clients(instance: Instance) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    tokens = {}
    with instance.engine.begin() as conn:
        for agency in AGENCIES:
            tokens[agency] = add_client(conn, f"{agency}-demo", Role.AGENCY, agency, now=now).token
        tokens["coordinator"] = add_client(
            conn, "coordinator-demo", Role.COORDINATOR, None, now=now
        ).token
        tokens["privacy_officer"] = add_client(
            conn, "dpo-demo", Role.PRIVACY_OFFICER, None, now=now
        ).token
        tokens["operator"] = add_client(conn, "operator-demo", Role.OPERATOR, None, now=now).token
    return tokens


def _enrol_and_consent(
    http: httpx.Client, families: list[DemoFamily], result: DemoResult, token: str
) -> tuple[list[str], dt.datetime | None]:
    """Enrol and record consents; return the consents the families will withdraw later and
    when the last short-lived ("expired") consent runs out."""
    auth = {"Authorization": f"Bearer {token}"}
    withdraw: list[str] = []
    runs_out: dt.datetime | None = None
    for family in families:
        response = http.post("/v1/families", json=family.as_request(), headers=auth)
        response.raise_for_status()
        family.family_id = response.json()["family_id"]
        result.families += 1
        result.persons += len(family.members)
        # Each family's clock is read when its consents are sent: a short-lived consent must
        # still lie in the future when it arrives, however long the families before it took.
        for body, fate in consent_requests(family, dt.datetime.now(dt.UTC)):
            answer = http.post("/v1/consents", json=body, headers=auth)
            answer.raise_for_status()
            result.consents += 1
            if fate == "withdraw":
                withdraw.append(answer.json()["consent_id"])
            if "valid_until" in body:
                until = dt.datetime.fromisoformat(body["valid_until"])
                runs_out = until if runs_out is None else max(runs_out, until)
    return withdraw, runs_out


def _withdraw(http: httpx.Client, consent_ids: list[str], result: DemoResult, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    for consent_id in consent_ids:
        http.post(
            f"/v1/consents/{consent_id}/withdraw",
            json={"reason": "the family withdrew it (demo)"},
            headers=auth,
        ).raise_for_status()
        result.withdrawn += 1


def _stream_records(
    http: httpx.Client, families: list[DemoFamily], tokens: dict[str, str], result: DemoResult
) -> None:
    today = dt.date.today()
    result.rounds += 1
    for family in families:
        # Each round sends new versions: the same records again would be recognised as such.
        for record in records_for(family, today, revision=result.rounds - 1):
            response = http.post(
                f"/v1/records/{record.agency}",
                content=record.body,
                headers={
                    "Authorization": f"Bearer {tokens[record.agency]}",
                    "Content-Type": record.content_type,
                },
            )
            if response.status_code == 202:
                result.records_in += 1
                result.records_by_agency[record.agency] += 1
            else:
                result.records_refused += 1


def _wait_for_relay(instance: Instance, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with reading(instance.engine) as conn:
            waiting = outbox.waiting(conn)
        if waiting == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{waiting} message(s) still waiting for the broker")
        time.sleep(0.2)


def _consume(directory: Path, instance: Instance, result: DemoResult) -> None:
    settings = instance.settings
    overviews: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for agency in AGENCIES:
        private = load_agency_private_key(directory / "agency-private" / f"{agency}.key")
        with Receiver(
            settings.kafka_bootstrap_servers,
            settings.topic(agency),
            private,
            instance.signing_key.public_key(),
            group_id=f"demo-{agency}",
            from_beginning=True,
            expected_recipient=agency,
        ) as receiver:
            for received in receiver.iter_messages(timeout_s=4):
                if received.message is None:
                    raise RuntimeError(f"{agency} refused a message: {received.error}")
                if received.message.kind == "withdrawal":
                    result.notices[agency] += 1
                else:
                    payload = received.message.payload
                    result.messages[agency] += 1
                    result.items[agency] += len(payload["items"])
                    if payload["source"]["record_type"] == "overview":
                        overviews[(agency, payload["update_id"])] += payload["items"]
    for agency, _ in overviews:
        result.overviews[agency] += 1
    if overviews:
        (agency, _), items = max(overviews.items(), key=lambda kv: len(kv[1]))
        result.overview_example = describe_overview(agency, items)


def _audit(instance: Instance, result: DemoResult) -> None:
    settings = instance.settings
    stored, _ = issue_now(instance)
    result.checkpoint_size = stored.checkpoint.size
    public = instance.signing_key.public_key()
    verify_checkpoint(stored.note, public, settings.origin)
    result.checkpoint_verified = True
    delivered: Counter[str] = Counter()
    delivered_items: Counter[str] = Counter()
    notices: Counter[str] = Counter()
    with reading(instance.engine) as conn:
        result.log_size = audit_log.tree_size(conn)
        report = verify_log(conn, public, settings.origin)
        result.log_verified = report.ok
        items_of: dict[str, int] = {}
        for index in range(result.log_size):
            entry = audit_log.get_entry(conn, index)
            if entry.event_type is EntryType.DISCLOSURE and entry.purpose == "family_plan":
                assert entry.recipient is not None and entry.message_id is not None
                items_of[entry.message_id] = int(entry.details.get("items", 0))  # type: ignore[arg-type]
            elif entry.event_type is EntryType.REFUSAL:
                result.withheld_items[entry.reason or "?"] += int(
                    entry.details.get("items", len(entry.categories))  # type: ignore[arg-type]
                )
            elif entry.event_type is EntryType.WITHHELD:
                result.withheld_items[f"{entry.reason} (stopped in outbox)"] += items_of.get(
                    entry.message_id or "", 0
                )
            elif entry.event_type is EntryType.DELIVERY:
                assert entry.recipient is not None
                if entry.purpose == "family_plan":
                    delivered[entry.recipient] += 1
                    delivered_items[entry.recipient] += items_of[entry.message_id or ""]
                else:
                    notices[entry.recipient] += 1
        rec = reconcile(
            conn, settings.kafka_bootstrap_servers, [settings.topic(a) for a in AGENCIES]
        )
        result.reconcile_clean = rec.clean
    for agency in AGENCIES:
        result.checks.append(
            (
                f"{agency}: messages consumed = delivery entries",
                result.messages[agency] == delivered[agency],
                f"{result.messages[agency]} vs {delivered[agency]}",
            )
        )
        result.checks.append(
            (
                f"{agency}: items consumed = items of its delivered disclosures",
                result.items[agency] == delivered_items[agency],
                f"{result.items[agency]} vs {delivered_items[agency]}",
            )
        )
        result.checks.append(
            (
                f"{agency}: withdrawal notices consumed = notice delivery entries",
                result.notices[agency] == notices[agency],
                f"{result.notices[agency]} vs {notices[agency]}",
            )
        )
    result.checks.append(("log verifies", result.log_verified, ""))
    result.checks.append(("reconcile clean", result.reconcile_clean, ""))


# What a withheld item's reason code means, in a sentence a municipality's staff can read.
_WITHHELD_BECAUSE = {
    "no_consent": "the family had given no consent for it",
    "out_of_scope": "the consent given does not cover that agency or kind of information",
    "restricted": "the family excluded it (a restriction in their consent)",
    "withdrawn": "the consent had been withdrawn",
    "expired": "the consent had run out (its period ended)",
    "not_yet_valid": "the consent was not yet in force",
    "guardian_missing": "a child's consent lacked one of the guardians' signatures",
    "subject_must_consent": "the young person is old enough to decide, and had not consented",
    "no_recipient_key": "the receiving agency has no key set up",
    "not_enrolled": "the person was no longer in the family",
    "not_in_team": "the agency was no longer on the family's team",
}


def _because(reason: str) -> str:
    code, _, rest = reason.partition(" (")
    said = _WITHHELD_BECAUSE.get(code, code.replace("_", " "))
    return said + (", caught while the message waited to be sent" if rest else "")


def _agency(code: str) -> str:
    return Formatter("en", "NO").word("agency", code)


def summary(result: DemoResult, *, name: str = "Demo kommune", verbose: bool = False) -> str:
    """The demo's summary for a municipality's staff: what happened, in plain words; with
    `verbose`, the checks behind it (counts on the topics against the log)."""
    received = sum(result.records_by_agency.values())
    lines = [
        "",
        f"helhet demo — {name}, a made-up municipality: every person in it is invented",
        "",
        "What happened",
        f"  {result.families} families were enrolled with the team of agencies working with them "
        f"({result.persons} people).",
        f"  The coordinators recorded {result.consents} consents; families later withdrew "
        f"{result.withdrawn} of them.",
        f"  The agencies' own systems sent {received} records"
        + (
            " ("
            + ", ".join(
                f"{_agency(a)} {result.records_by_agency[a]}"
                for a in AGENCIES
                if result.records_by_agency[a]
            )
            + ")"
            if received
            else ""
        )
        + (
            f"; {result.records_refused} were refused as invalid."
            if result.records_refused
            else "; none was refused."
        ),
        "",
        "What each agency received (only what the family allowed)",
        f"  {'':<28}{'updates':>8}{'pieces of information':>23}{'withdrawal notices':>20}",
    ]
    for agency in AGENCIES:
        lines.append(
            f"  {_agency(agency):<28}{result.messages[agency]:>8}{result.items[agency]:>23}"
            f"{result.notices[agency]:>20}"
        )
    withheld = sum(result.withheld_items.values())
    lines += ["", f"What was held back ({withheld} pieces of information), and why"]
    for reason, count in sorted(result.withheld_items.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {count:>6}  {_because(reason)}")
    if result.plans:
        sent, held = result.overview_routes["disclosed"], result.overview_routes["withheld"]
        lines += [
            "",
            "Family plans",
            f"  {result.plans} families have a plan written with their coordinator "
            f"({result.plan_entries} goals, measures, meetings and evaluations).",
            f"  After each change every team member gets an overview of the plan: {sent} went "
            f"out after the last change, and {held} times something was left out of one "
            "because the family had not consented to it.",
            *result.overview_example,
            f"  Each family's own printable copy of its plan: {len(result.family_copies)} pages "
            "beside the instance.",
        ]
    all_good = result.log_verified and result.checkpoint_verified and result.reconcile_clean
    lines += [
        "",
        "The log",
        f"  Every one of these {result.log_size} events — each disclosure, each refusal, each "
        "consent and each read of the log — is in the tamper-evident log.",
        "  Checked from scratch just now: "
        + (
            "nothing has been changed or removed, its signed checkpoint covers all of it, and "
            "what the agencies' topics hold matches the log exactly."
            if all_good
            else "A PROBLEM WAS FOUND — run with --verbose for the details."
        ),
    ]
    if verbose or not result.adds_up:
        lines += [
            "",
            "The checks behind this summary",
            f"  disclosure log: {result.log_size} entries; verified: "
            f"{'yes' if result.log_verified else 'NO'}",
            f"  latest checkpoint: size {result.checkpoint_size}, signature verified: "
            f"{'yes' if result.checkpoint_verified else 'NO'}",
            f"  reconcile (topics against the log): "
            f"{'clean' if result.reconcile_clean else 'MISMATCH'}",
            f"  record rounds: {result.rounds}; withheld by reason code: "
            + ", ".join(f"{r} {c}" for r, c in sorted(result.withheld_items.items())),
        ]
        for check, ok, detail in result.checks:
            lines.append(f"  [{'ok' if ok else 'FAIL'}] {check}{' — ' + detail if detail else ''}")
    return "\n".join(lines)


def run_demo(
    directory: Path,
    *,
    families: int = 50,
    seed: int = 20261124,
    port: int | None = None,
    serve: bool = True,
    echo: Echo = print,
    wait: Callable[[], None] | None = None,
    verbose: bool = False,
) -> DemoResult:
    """Run the whole demo; with `serve`, keep serving until `wait` returns (Ctrl-C)."""
    result = DemoResult()
    broker = EmbeddedBroker(log_path=None)
    echo(f"starting the bundled Kafka-protocol broker on {broker.bootstrap_servers} ...")
    echo(
        "  (memory-only: its topics, and every message on them, are gone when the demo stops; "
        "production uses Apache Kafka)"
    )
    broker.start()
    instance: Instance | None = None
    try:
        config = write_instance(directory, broker.bootstrap_servers, port or free_port())
        instance = open_instance(load_settings(config))
        migrate.upgrade(instance.engine)
        tokens = _clients(instance)
        app = create_app(instance)
        settings = instance.settings
        with running_server(app, port=settings.http_port) as base:
            echo(f"gateway listening on {base} (SQLite: {directory / 'helhet-demo.db'})")
            demo_families = generate(families, seed, dt.date.today())
            transport = RetryAfter503(httpx.HTTPTransport())
            with httpx.Client(base_url=base, timeout=60, transport=transport) as http:
                echo(f"enrolling {families} synthetic families and recording their consents ...")
                later, runs_out = _enrol_and_consent(
                    http, demo_families, result, tokens["coordinator"]
                )
                if runs_out is not None:  # let the short-lived ("expired") consents run out
                    time.sleep(max(0.0, (runs_out - dt.datetime.now(dt.UTC)).total_seconds()))
                echo("streaming records from NAV, school, health, child welfare and housing ...")
                _stream_records(http, demo_families, tokens, result)
                _wait_for_relay(instance)
                echo("the coordinator writes family plans; overviews go to each team ...")
                planned = record_plans(http, demo_families, tokens["coordinator"], directory)
                result.plans, result.plan_entries = planned.plans, planned.entries
                result.overview_routes = planned.overview_routes
                result.family_copies = [p.name for p in planned.copies]
                echo(f"{len(later)} consents withdrawn after delivery; agencies send updates ...")
                _withdraw(http, later, result, tokens["coordinator"])
                _stream_records(
                    http,
                    [f for f in demo_families if f.consent_kind == "withdrawn"],
                    tokens,
                    result,
                )
            _wait_for_relay(instance)
            echo("consuming every agency topic with the receiver ...")
            _consume(directory, instance, result)
            _audit(instance, result)
            echo(summary(result, name=settings.municipality_name, verbose=verbose))
            echo("")
            echo("Where to look")
            echo(console_sign_ins(base, tokens))
            echo(f"API documentation: {base}/docs   (OpenAPI: {base}/openapi.json)")
            echo(
                f"instance files:    {directory} (config, keys; every demo token, the agencies' "
                f"too, in {directory / 'tokens.json'})"
            )
            echo(
                "the broker keeps its topics in memory only: after Ctrl-C the database and "
                f"its log stay in {directory}, the messages do not"
            )
            (directory / "tokens.json").write_text(
                "{\n" + ",\n".join(f'  "{k}": "{v}"' for k, v in tokens.items()) + "\n}\n"
            )
            if serve:
                echo("serving until Ctrl-C ...")
                (wait or _wait_forever)()
    finally:
        if instance is not None:
            instance.close()
        broker.stop()
    return result


def console_sign_ins(base: str, tokens: dict[str, str]) -> str:
    """The console's address and the demo's own token for each role that may sign in."""
    lines = [f"web console:       {base}/console   (sign in with one of these demo tokens)"]
    for role, label in (
        ("privacy_officer", "privacy officer"),
        ("coordinator", "coordinator"),
        ("operator", "operator"),
    ):
        lines.append(f"  {label + ':':<17}{tokens[role]}")
    return "\n".join(lines)


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def as_dict(result: DemoResult) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in result.__dict__.items() if k != "checks"}
    data["checks"] = [{"check": n, "ok": ok, "detail": d} for n, ok, d in result.checks]
    data["adds_up"] = result.adds_up
    return {k: dict(v) if isinstance(v, Counter | defaultdict) else v for k, v in data.items()}
