"""The sealed envelope: round trips, tamper detection on every field, wrong keys, key rotation."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gateway.envelope.keyring import DataKeyRing
from gateway.envelope.sealing import encode_envelope, envelope_sha256, seal_message
from gateway.errors import GatewayError, InvalidPayload
from recipient.envelope import ENVELOPE_FIELDS, aad_input, key_id, signature_input
from recipient.errors import (
    BadSignature,
    DecryptionFailed,
    EnvelopeError,
    MalformedEnvelope,
    RecipientError,
    UnknownSigningKey,
    WrongRecipient,
)
from recipient.jwk import public_keys_from_jwks, signing_jwks
from recipient.opening import DataKeyCache, EnvelopeOpener
from schemas import PlanUpdate, WithdrawalNotice
from schemas.canonical import canonical_json
from tests.helpers.envelopes import NOW, Keys, plan_update, withdrawal


@pytest.fixture
def keys() -> Keys:
    return Keys()


def test_round_trip_plan_update(keys: Keys) -> None:
    payload = plan_update()
    envelope = keys.seal(payload)
    assert set(envelope) == ENVELOPE_FIELDS
    assert envelope["created_at"] == "2026-03-01T09:30:00.000000Z"
    assert envelope["sig_key_id"] == key_id(keys.signing.public_key())
    opened = keys.open(encode_envelope(envelope))
    assert opened.kind == "plan_update"
    assert opened.payload == payload
    assert isinstance(opened.model, PlanUpdate)
    assert opened.model.update_id == "upd-0"
    assert opened.message_id == envelope["message_id"]
    assert opened.disclosure_index == 17
    assert opened.created_at == NOW
    assert (opened.family_id, opened.recipient, opened.source) == ("fam-1", "school", "nav")


def test_round_trip_withdrawal_and_models(keys: Keys) -> None:
    envelope = keys.seal(WithdrawalNotice.model_validate(withdrawal()), disclosure_index=None)
    opened = keys.open(envelope)
    assert opened.kind == "withdrawal"
    assert isinstance(opened.model, WithdrawalNotice)
    assert opened.model.consent_id == "consent-7"
    assert opened.disclosure_index is None


def test_plaintext_does_not_appear_in_the_envelope(keys: Keys) -> None:
    payload = plan_update()
    raw = encode_envelope(keys.seal(payload))
    for item in payload["items"]:
        assert item["subject"].encode() not in raw
        assert b"Arbeidstrening" not in raw


def test_ciphertext_is_aes_gcm_of_canonical_payload_with_documented_aad(keys: Keys) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    payload = plan_update()
    envelope = keys.seal(payload)
    data_key = keys.keyring.current(
        municipality="0301", recipient="school", recipient_public_key=keys.recipient.public_key()
    )
    plaintext = AESGCM(data_key.key).decrypt(
        base64.b64decode(envelope["enc"]["nonce"]),
        base64.b64decode(envelope["enc"]["ciphertext"]),
        aad_input(envelope),
    )
    assert plaintext == canonical_json(payload)
    header = {k: v for k, v in envelope.items() if k != "sig"}
    header["enc"] = {k: v for k, v in envelope["enc"].items() if k != "ciphertext"}
    assert aad_input(envelope) == canonical_json(header)
    assert signature_input(envelope) == canonical_json(
        {k: v for k, v in envelope.items() if k != "sig"}
    )


def test_every_envelope_has_a_fresh_nonce(keys: Keys) -> None:
    payload = plan_update()
    nonces = {keys.seal(payload)["enc"]["nonce"] for _ in range(50)}
    assert len(nonces) == 50


def _tampered_variants(envelope: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for field, value in envelope.items():
        if field == "enc":
            for sub, subvalue in value.items():
                changed = copy.deepcopy(envelope)
                changed["enc"][sub] = _mutate(subvalue)
                yield f"enc.{sub}", changed
            continue
        if field == "sig_key_id":
            continue  # covered by test_unknown_signing_key_is_refused
        changed = copy.deepcopy(envelope)
        changed[field] = _mutate(value)
        yield field, changed
    added = copy.deepcopy(envelope)
    added["extra"] = "x"
    yield "added field", added
    removed = copy.deepcopy(envelope)
    del removed["disclosure_index"]
    yield "removed field", removed


def _mutate(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, int):
        return value + 1
    assert isinstance(value, str)
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if raw and len(value) % 4 == 0 and len(value) >= 16:
        flipped = bytes([raw[0] ^ 1]) + raw[1:]
        return base64.b64encode(flipped).decode()
    return value + "x"


def test_tampering_any_field_breaks_the_signature(keys: Keys) -> None:
    envelope = keys.seal(plan_update())
    variants = list(_tampered_variants(envelope))
    assert len(variants) >= len(ENVELOPE_FIELDS) + 4
    for name, changed in variants:
        with pytest.raises(BadSignature):
            keys.open(changed)
        with pytest.raises(EnvelopeError):
            keys.open(canonical_json(changed))
        assert name  # every variant exercised


def test_tampered_bytes_are_refused(keys: Keys) -> None:
    raw = bytearray(encode_envelope(keys.seal(plan_update())))
    for position in range(0, len(raw), 7):
        changed = bytearray(raw)
        changed[position] ^= 0x01
        with pytest.raises(EnvelopeError):
            keys.open(bytes(changed))


def test_resigned_tampering_is_still_refused_by_aad(keys: Keys) -> None:
    """Even the gateway key holder cannot move a ciphertext to other header fields."""
    envelope = keys.seal(plan_update())
    moved = copy.deepcopy(envelope)
    moved["family_id"] = "fam-2"
    del moved["sig"]
    moved["sig"] = base64.b64encode(keys.signing.sign(canonical_json(moved))).decode()
    with pytest.raises(DecryptionFailed):
        keys.open(moved)


def test_unknown_signing_key_is_refused(keys: Keys) -> None:
    envelope = keys.seal(plan_update())
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(UnknownSigningKey):
        keys.open(envelope, gateway_public_keys=[other])
    forged = keys.seal(plan_update(), signing_key=Ed25519PrivateKey.generate())
    with pytest.raises(UnknownSigningKey):
        keys.open(forged)
    # Several trusted keys (rotation of the gateway key): the right one is picked by kid.
    assert keys.open(envelope, gateway_public_keys=[other, keys.signing.public_key()]).payload


def test_signature_from_another_key_under_a_trusted_kid_is_refused(keys: Keys) -> None:
    envelope = keys.seal(plan_update())
    forger = Ed25519PrivateKey.generate()
    forged = {k: v for k, v in envelope.items() if k != "sig"}
    forged["sig"] = base64.b64encode(forger.sign(canonical_json(forged))).decode()
    with pytest.raises(BadSignature):
        keys.open(forged)


def test_wrong_recipient_key_and_name_are_refused(keys: Keys) -> None:
    envelope = keys.seal(plan_update())
    with pytest.raises(DecryptionFailed):
        keys.open(envelope, recipient_private_key=X25519PrivateKey.generate())
    with pytest.raises(WrongRecipient):
        keys.open(envelope, expected_recipient="health")
    with pytest.raises(WrongRecipient):
        keys.open(envelope, expected_municipality="101")
    assert keys.open(envelope, expected_municipality="0301").municipality == "0301"
    # The cache of unwrapped keys never lets another private key through.
    cache = DataKeyCache()
    assert keys.open(envelope, cache=cache).payload
    with pytest.raises(DecryptionFailed):
        keys.open(envelope, cache=cache, recipient_private_key=X25519PrivateKey.generate())


def test_malformed_envelopes_are_refused(keys: Keys) -> None:
    for raw in (b"", b"[]", b"{", b'{"sig": 1}', "not json", b'{"a": NaN}'):
        with pytest.raises(MalformedEnvelope):
            keys.open(raw)
    envelope = keys.seal(plan_update())
    text = encode_envelope(envelope).decode()
    duplicated = text[:-1] + ',"family_id":"fam-9"}'
    with pytest.raises(MalformedEnvelope, match="duplicate"):
        keys.open(duplicated.encode())


def test_errors_belong_to_their_side_s_tree() -> None:
    for error in (BadSignature, WrongRecipient, DecryptionFailed, MalformedEnvelope):
        assert issubclass(error, EnvelopeError)
        assert issubclass(error, RecipientError)
        assert not issubclass(error, GatewayError)  # the agency side knows nothing of the server
    assert issubclass(InvalidPayload, GatewayError)


def test_seal_refuses_bad_input(keys: Keys) -> None:
    with pytest.raises(InvalidPayload):
        keys.seal({"schema": "helhet.other/1"})
    with pytest.raises(InvalidPayload):
        keys.seal({**plan_update(), "items": []})
    with pytest.raises(InvalidPayload):
        keys.seal(plan_update(), created_at=dt.datetime(2026, 3, 1, 9, 30))
    with pytest.raises(InvalidPayload):
        keys.seal(plan_update(), recipient="school team")
    with pytest.raises(InvalidPayload):
        keys.seal(plan_update(), disclosure_index=-1)


def test_data_key_rotation_by_age_and_by_recipient_key() -> None:
    clock = [1000.0]
    ring = DataKeyRing(rotate_after=600, clock=lambda: clock[0])
    recipient = X25519PrivateKey.generate().public_key()

    def current(public: Any = recipient, name: str = "school") -> str:
        data_key = ring.current(municipality="0301", recipient=name, recipient_public_key=public)
        return data_key.key_id

    first = current()
    clock[0] += 599
    assert current() == first
    clock[0] += 1
    second = current()
    assert second != first
    assert current(X25519PrivateKey.generate().public_key()) not in (first, second)
    assert current(name="health") not in (first, second)
    assert current() == second
    with pytest.raises(ValueError):
        DataKeyRing(rotate_after=7200)


def test_rotation_by_use_count_and_envelopes_across_rotation(keys: Keys) -> None:
    keys.keyring = DataKeyRing(max_uses=2)
    envelopes = [keys.seal(plan_update(seed=i)) for i in range(5)]
    key_ids = [e["enc"]["key_id"] for e in envelopes]
    assert key_ids[0] == key_ids[1] != key_ids[2] == key_ids[3] != key_ids[4]
    opener = EnvelopeOpener(
        keys.recipient, [keys.signing.public_key()], expected_recipient="school"
    )
    for i, envelope in enumerate(envelopes):
        assert opener.open(envelope).payload == plan_update(seed=i)
    assert opener.cache.misses == 3
    assert opener.cache.hits == 2


def test_envelope_sha256_is_of_the_published_bytes(keys: Keys) -> None:
    envelope = keys.seal(plan_update())
    raw = encode_envelope(envelope)
    digest = envelope_sha256(raw)
    assert len(digest) == 64
    assert digest == envelope_sha256(envelope)
    assert digest != envelope_sha256(encode_envelope(keys.seal(plan_update())))
    assert json.loads(raw) == envelope


def test_jwks_round_trip(keys: Keys) -> None:
    jwks = signing_jwks([keys.signing.public_key()])
    assert jwks["keys"][0]["kid"] == key_id(keys.signing.public_key())
    (public,) = public_keys_from_jwks(json.loads(json.dumps(jwks)))
    envelope = keys.seal(plan_update())
    assert keys.open(envelope, gateway_public_keys=[public]).payload == plan_update()
    jwks["keys"][0]["kid"] = "other"
    with pytest.raises(MalformedEnvelope):
        public_keys_from_jwks(jwks)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@hsettings(max_examples=40)
@given(
    description=st.text(min_size=1, max_size=300).filter(lambda s: s.strip() == s),
    values=st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=5),
    n_items=st.integers(min_value=1, max_value=6),
    family_id=st.text(min_size=1, max_size=40),
    disclosure_index=st.none() | st.integers(min_value=0, max_value=2**53 - 1),
)
def test_property_round_trip(
    description: str,
    values: dict[str, Any],
    n_items: int,
    family_id: str,
    disclosure_index: int | None,
) -> None:
    keys = _PROPERTY_KEYS
    payload = plan_update(n_items=n_items, description=description)
    for item in payload["items"]:
        item["values"] = values
    envelope = keys.seal(payload, family_id=family_id, disclosure_index=disclosure_index)
    opened = keys.open(encode_envelope(envelope))
    assert opened.payload == json.loads(canonical_json(payload))
    assert opened.family_id == family_id
    assert opened.disclosure_index == disclosure_index
    flipped = copy.deepcopy(envelope)
    flipped["family_id"] = family_id + "!"
    with pytest.raises(BadSignature):
        keys.open(flipped)


_PROPERTY_KEYS = Keys()


# --- canonical JSON: the fast path gives exactly rfc8785's bytes ------------------------------

any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
jcs_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=5)
    ),
    max_leaves=20,
)


@hsettings(max_examples=300)
@given(value=jcs_values)
def test_canonical_json_equals_rfc8785(value: Any) -> None:
    import rfc8785

    assert canonical_json(value) == rfc8785.dumps(value)


def test_canonical_json_edge_cases() -> None:
    import rfc8785

    cases: list[Any] = [
        {"\U0001f600": 1, "\ufb01": 2, "a": 3},  # astral vs BMP key order (UTF-16 rule)
        {"s": '\x00\x1f\x7f\u2028"\\/\b\t\n\f\r'},
        {"n": [2**53 - 1, -(2**53) + 1, 0, -0.0, 1.0, 1e21, 5e-324]},
        [True, False, None, ""],
    ]
    for case in cases:
        assert canonical_json(case) == rfc8785.dumps(case)
    for bad in ({"n": 2**53}, {"s": "\ud800"}, {1: 2}, {"f": float("nan")}):
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_json(bad)


# --- the published bytes are assembled once; they are the envelope's canonical JSON --------

envelope_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)


@hsettings(max_examples=60)
@given(
    message_id=envelope_text,
    family_id=envelope_text,
    disclosure_index=st.none() | st.integers(min_value=0, max_value=2**53 - 1),
)
def test_sealed_bytes_are_the_canonical_json_of_the_envelope(
    message_id: str, family_id: str, disclosure_index: int | None
) -> None:
    import rfc8785

    keys = _PROPERTY_KEYS
    sealed = seal_message(
        plan_update(),
        message_id=message_id,
        disclosure_index=disclosure_index,
        created_at=NOW,
        municipality="0301",
        source="nav",
        recipient="school",
        family_id=family_id,
        recipient_public_key=keys.recipient.public_key(),
        signing_key=keys.signing,
        keyring=keys.keyring,
    )
    assert sealed.data == rfc8785.dumps(sealed.envelope) == encode_envelope(sealed.envelope)
    assert sealed.sha256 == envelope_sha256(sealed.envelope)
    opened = keys.open(sealed.data)
    assert (opened.message_id, opened.family_id) == (message_id, family_id)
    assert opened.disclosure_index == disclosure_index


def test_a_lone_surrogate_in_a_field_is_refused(keys: Keys) -> None:
    with pytest.raises(InvalidPayload, match="family_id"):
        keys.seal(plan_update(), family_id="fam-\ud800")


def test_created_at_and_signing_key_id_follow_their_inputs(keys: Keys) -> None:
    later = NOW + dt.timedelta(microseconds=5)
    assert keys.seal(plan_update())["created_at"] == "2026-03-01T09:30:00.000000Z"
    assert keys.seal(plan_update(), created_at=later)["created_at"] == "2026-03-01T09:30:00.000005Z"
    other = Ed25519PrivateKey.generate()
    envelope = keys.seal(plan_update(), signing_key=other)
    assert envelope["sig_key_id"] == key_id(other.public_key())
    assert keys.seal(plan_update())["sig_key_id"] == key_id(keys.signing.public_key())
    keys.open(encode_envelope(envelope), gateway_public_keys=other.public_key())
