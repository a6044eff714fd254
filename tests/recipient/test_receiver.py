"""The receiver against a real broker: sealed envelopes produced with acks=all are read back,
verified and decrypted; refused records come out as errors with their offsets; dedupe; commits.
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from gateway.config.keys import generate_agency_keypair, generate_signing_key
from gateway.envelope.keyring import DataKeyRing
from gateway.envelope.sealing import encode_envelope
from recipient.cli import command as receive_command
from recipient.errors import BadSignature, MalformedEnvelope, WrongRecipient
from recipient.jwk import signing_jwks
from recipient.receiver import Receiver
from recipient.topics import topic_for
from tests.helpers.envelopes import Keys, plan_update, withdrawal


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="helhet-test-admin")
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()


def produce(bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value).get(timeout=30)
        producer.flush()
    finally:
        producer.close()


def sealed(keys: Keys, payload: dict[str, Any], family_id: str, **extra: Any) -> dict[str, Any]:
    return keys.seal(payload, family_id=family_id, **extra)


def record(envelope: dict[str, Any]) -> tuple[bytes, bytes]:
    return envelope["family_id"].encode(), encode_envelope(envelope)


@pytest.fixture
def keys() -> Keys:
    return Keys()


def test_receiver_reads_verifies_and_refuses(
    kafka_bootstrap: str, topic_name: str, keys: Keys
) -> None:
    create_topic(kafka_bootstrap, topic_name, partitions=2)
    good = [sealed(keys, plan_update(seed=i), f"fam-{i % 3}") for i in range(6)]
    notice = sealed(keys, withdrawal(), "fam-1", disclosure_index=None)
    tampered = copy.deepcopy(good[0])
    tampered["message_id"] = str(uuid.uuid4())
    for_health = sealed(keys, plan_update(seed=9), "fam-2", recipient="health")
    records = [record(e) for e in good]
    records += [record(notice), record(tampered), record(for_health), record(good[2])]
    records.append((b"fam-0", b"not an envelope"))
    records.append((b"fam-other", encode_envelope(good[4])))  # key is not its family_id
    produce(kafka_bootstrap, topic_name, records)

    with Receiver(
        kafka_bootstrap,
        topic_name,
        keys.recipient,
        [keys.signing.public_key()],
        from_beginning=True,
        expected_recipient="school",
    ) as receiver:
        items = list(receiver.iter_messages(timeout_s=5))

    data = [i for i in items if i.ok]
    errors = [i for i in items if not i.ok]
    assert sorted(i.message.message_id for i in data if i.message) == sorted(
        e["message_id"] for e in [*good, notice]
    )
    kinds = {i.message.kind for i in data if i.message}
    assert kinds == {"plan_update", "withdrawal"}
    for item in data:
        assert item.message is not None
        assert item.key == item.message.family_id.encode()
        assert item.message.payload["schema"] in ("helhet.plan-update/1", "helhet.withdrawal/1")
    # Errors are reported with their coordinates, each with the reason.
    error_types = sorted(type(i.error).__name__ for i in errors)
    expected = [BadSignature, WrongRecipient, MalformedEnvelope, MalformedEnvelope]
    assert error_types == sorted(error.__name__ for error in expected)
    assert all(i.offset >= 0 and i.topic == topic_name for i in errors)
    assert receiver.stats.duplicates == 1  # good[2] was produced twice
    assert receiver.stats.delivered == len(good) + 1
    assert receiver.stats.errors == 4
    # Within a partition the records come in offset order.
    for partition in {i.partition for i in items}:
        offsets = [i.offset for i in items if i.partition == partition]
        assert offsets == sorted(offsets)


def test_wrong_private_key_yields_errors_not_data(
    kafka_bootstrap: str, topic_name: str, keys: Keys
) -> None:
    produce(kafka_bootstrap, topic_name, [record(sealed(keys, plan_update(), "fam-1"))])
    with Receiver(
        kafka_bootstrap,
        topic_name,
        X25519PrivateKey.generate(),
        keys.signing.public_key(),
        from_beginning=True,
    ) as receiver:
        items = list(receiver.iter_messages(timeout_s=15, max_messages=1))
    assert len(items) == 1
    assert items[0].message is None
    assert type(items[0].error).__name__ == "DecryptionFailed"


def test_group_commits_after_processing(kafka_bootstrap: str, topic_name: str, keys: Keys) -> None:
    first = [sealed(keys, plan_update(seed=i), "fam-1") for i in range(4)]
    produce(kafka_bootstrap, topic_name, [record(e) for e in first])
    group = f"g-{uuid.uuid4().hex[:8]}"

    def receiver() -> Receiver:
        return Receiver(
            kafka_bootstrap,
            topic_name,
            keys.recipient,
            [keys.signing.public_key()],
            group_id=group,
            from_beginning=True,
        )

    with receiver() as r:
        got = [
            i.message.message_id for i in r.iter_messages(timeout_s=15, max_messages=2) if i.message
        ]
    assert got == [e["message_id"] for e in first[:2]]

    second = [sealed(keys, plan_update(seed=10 + i), "fam-1") for i in range(2)]
    produce(kafka_bootstrap, topic_name, [record(e) for e in second])
    with receiver() as r:
        rest = [
            i.message.message_id for i in r.iter_messages(timeout_s=15, max_messages=4) if i.message
        ]
    assert rest == [e["message_id"] for e in first[2:] + second]

    # Everything read so far was committed: a new member of the group sees only the new record.
    third = sealed(keys, plan_update(seed=20), "fam-1")
    produce(kafka_bootstrap, topic_name, [record(third)])
    with receiver() as r:
        last = [
            i.message.message_id for i in r.iter_messages(timeout_s=15, max_messages=1) if i.message
        ]
    assert last == [third["message_id"]]


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path, Any, Any]:
    signing = generate_signing_key(tmp_path / "gateway.pem")
    agency = generate_agency_keypair(tmp_path / "school.pem", tmp_path / "school.pub.pem")
    return tmp_path / "school.pem", tmp_path / "gateway.pub.pem", signing, agency


@pytest.fixture
def jwks_url(key_files: tuple[Path, Path, Any, Any]) -> Iterator[str]:
    body = json.dumps(signing_jwks([key_files[2].public_key()])).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/v1/keys" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/keys"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_receive_command_prints_json_lines(
    kafka_bootstrap: str, key_files: tuple[Path, Path, Any, Any], jwks_url: str
) -> None:
    private_path, gateway_pub, signing, agency = key_files
    municipality = f"9{uuid.uuid4().int % 1000:03d}"
    topic = topic_for(municipality, "school")
    keys = Keys()
    keys.signing, keys.recipient, keys.keyring = signing, agency, DataKeyRing()
    envelopes = [
        sealed(keys, plan_update(seed=1), "fam-7", municipality=municipality),
        sealed(keys, withdrawal(), "fam-7", municipality=municipality, disclosure_index=None),
    ]
    produce(kafka_bootstrap, topic, [record(e) for e in envelopes])
    runner = CliRunner()
    for gateway_key in (str(gateway_pub), jwks_url):
        result = runner.invoke(
            receive_command,
            [
                "--agency", "school",
                "--private-key", str(private_path),
                "--municipality", municipality,
                "--bootstrap-servers", kafka_bootstrap,
                "--gateway-key", gateway_key,
                "--from-beginning",
                "--max-messages", "2",
                "--timeout", "10",
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert [line["kind"] for line in lines] == ["plan_update", "withdrawal"]
        assert [line["message_id"] for line in lines] == [e["message_id"] for e in envelopes]
        assert lines[0]["payload"] == plan_update(seed=1)
        assert lines[1]["payload"]["consent_id"] == "consent-7"

    # Signed by another gateway key: printed as an error line, exit code 1.
    other = Keys()
    other.recipient = agency
    produce(
        kafka_bootstrap,
        topic,
        [record(sealed(other, plan_update(seed=2), "fam-7", municipality=municipality))],
    )
    result = runner.invoke(
        receive_command,
        [
            "--agency", "school",
            "--private-key", str(private_path),
            "--topic", topic,
            "--bootstrap-servers", kafka_bootstrap,
            "--gateway-key", str(gateway_pub),
            "--from-beginning",
            "--timeout", "4",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["plan_update", "withdrawal", "error"]
    assert lines[2]["error"] == "UnknownSigningKey"
    assert lines[2]["offset"] == 2

    missing = runner.invoke(
        receive_command,
        ["--agency", "school", "--private-key", str(private_path), "--gateway-key", "x"],
    )
    assert missing.exit_code == 2


def test_receive_command_names_a_topic_or_agency_that_does_not_exist(
    kafka_bootstrap: str, key_files: tuple[Path, Path, Any, Any]
) -> None:
    private_path, gateway_pub, _, _ = key_files
    common = ["--private-key", str(private_path), "--gateway-key", str(gateway_pub)]
    runner = CliRunner()
    bootstrap = runner.invoke(
        receive_command,
        [
            *common,
            "--agency", "school",
            "--municipality", "8989",
            "--bootstrap-servers", kafka_bootstrap,
            "--timeout", "1",
        ],
    )  # fmt: skip
    assert bootstrap.exit_code == 1
    assert "helhet.8989.school does not exist" in bootstrap.output
    assert "--municipality" in bootstrap.output
    unknown = runner.invoke(
        receive_command, [*common, "--agency", "schools", "--municipality", "0301"]
    )
    assert unknown.exit_code == 2 and "schools" in unknown.output
    bad_number = runner.invoke(
        receive_command,
        [*common, "--agency", "school", "--municipality", "abc", "--bootstrap-servers", "x:1"],
    )
    assert bad_number.exit_code == 2 and "3 or 4 digits" in bad_number.output
