"""The agency side of helhet: open and verify the envelopes on an agency's topic, and read it.

An agency system needs only this package and `schemas` (no server code: no FastAPI, SQLAlchemy
or gateway import; tests/recipient/test_isolation.py checks it). docs/integration.md shows how.

    envelope.py  the helhet.envelope/1 format both sides share (fields, AAD, signature input)
    opening.py   EnvelopeOpener / open_envelope: verify, check the addressee, decrypt
    jwk.py       the gateway's signing keys as a JWK set (GET /v1/keys)
    keys.py      loading the agency's private key and the gateway's public keys
    topics.py    topic names and partitions
    receiver.py  Receiver: consume a topic, open every record, commit offsets after each
    cli.py       `helhet receive` / `helhet-receive`
    errors.py    RecipientError and its tree
"""

from recipient.errors import (
    BadSignature,
    BrokerUnavailable,
    DecryptionFailed,
    EnvelopeError,
    KeyUnavailable,
    MalformedEnvelope,
    RecipientError,
    UnknownSigningKey,
    WrongRecipient,
)
from recipient.keys import load_agency_private_key, load_gateway_keys
from recipient.opening import EnvelopeOpener, OpenedMessage, open_envelope
from recipient.receiver import ReceivedMessage, Receiver
from recipient.topics import topic_for

__all__ = [
    "BadSignature",
    "BrokerUnavailable",
    "DecryptionFailed",
    "EnvelopeError",
    "EnvelopeOpener",
    "KeyUnavailable",
    "MalformedEnvelope",
    "OpenedMessage",
    "ReceivedMessage",
    "Receiver",
    "RecipientError",
    "UnknownSigningKey",
    "WrongRecipient",
    "load_agency_private_key",
    "load_gateway_keys",
    "open_envelope",
    "topic_for",
]
