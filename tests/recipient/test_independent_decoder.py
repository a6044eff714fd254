"""Decode real messages from the broker with tests/helpers/decoder.py, written from
docs/integration.md §12 alone (never the project's recipient package).

The gateway side (sealing, producing) uses the project; the decoding side must not.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from kafka import KafkaConsumer, KafkaProducer

from tests.helpers.decoder import Refused, decode, signing_key_id
from tests.helpers.envelopes import Keys, plan_update, withdrawal


def test_independent_decoder_reads_real_messages(kafka_bootstrap: str, topic_name: str) -> None:
    keys = Keys()
    municipality = "0301"
    payloads = [plan_update(seed=i, n_items=1 + i) for i in range(5)] + [withdrawal()]
    envelopes = [
        keys.seal(payload, family_id=f"fam-{i % 2}", municipality=municipality)
        for i, payload in enumerate(payloads)
    ]
    forged = copy.deepcopy(envelopes[0])
    forged["recipient"] = "health"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for envelope in [*envelopes, forged, envelopes[1]]:
            value = rfc8785.dumps(envelope)
            producer.send(topic_name, key=envelope["family_id"].encode(), value=value).get(30)
        producer.flush()
    finally:
        producer.close()

    consumer = KafkaConsumer(
        topic_name,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    try:
        records = list(consumer)
    finally:
        consumer.close()
    assert len(records) == len(envelopes) + 2

    trusted = [keys.signing.public_key()]
    decoded: dict[str, dict[str, Any]] = {}
    refused: list[int] = []
    for rec in records:
        try:
            envelope, payload = decode(
                rec.key, rec.value, keys.recipient, trusted, "school", municipality
            )
        except Refused as exc:
            refused.append(exc.step)
            continue
        # 10. Deduplicate by message_id.
        if envelope["message_id"] in decoded:
            assert decoded[envelope["message_id"]] == payload
            continue
        decoded[envelope["message_id"]] = payload

    assert refused == [3]  # the forged recipient breaks the signature
    assert decoded == {e["message_id"]: p for e, p in zip(envelopes, payloads, strict=True)}

    # Refusals at the later steps, on the same real record bytes.
    value = next(
        r.value for r in records if json.loads(r.value)["message_id"] == envelopes[2]["message_id"]
    )
    key = envelopes[2]["family_id"].encode()
    with pytest.raises(Refused) as wrong_key:
        decode(key, value, X25519PrivateKey.generate(), trusted, "school", municipality)
    assert wrong_key.value.step == 6
    with pytest.raises(Refused) as other_agency:
        decode(key, value, keys.recipient, trusted, "nav", municipality)
    assert other_agency.value.step == 5
    with pytest.raises(Refused) as wrong_record_key:
        decode(b"fam-x", value, keys.recipient, trusted, "school", municipality)
    assert wrong_record_key.value.step == 5
    with pytest.raises(Refused) as untrusted:
        decode(key, value, keys.recipient, [], "school", municipality)
    assert untrusted.value.step == 2


def test_signing_key_from_the_jwk_set() -> None:
    """§9: the key published by GET /v1/keys, read with base64url and checked against its kid."""
    from recipient.jwk import signing_jwks  # what the gateway serves as GET /v1/keys

    keys = Keys()
    body = json.dumps(signing_jwks([keys.signing.public_key()]))
    (jwk,) = json.loads(body)["keys"]
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    x = jwk["x"]
    assert "=" not in x
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
    assert signing_key_id(public) == jwk["kid"]
    envelope = keys.seal(plan_update(), municipality="0301")
    value = rfc8785.dumps(envelope)
    _, payload = decode(b"fam-1", value, keys.recipient, [public], "school", "0301")
    assert payload == plan_update()
