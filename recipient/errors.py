"""Errors of the agency side: envelopes that cannot be trusted or read, keys, the broker.

RecipientError is the root; `retriable` says whether trying again later may succeed.
EnvelopeError (MalformedEnvelope, BadSignature > UnknownSigningKey, WrongRecipient,
DecryptionFailed) means one record was refused; the others stop the receiver.
"""

from __future__ import annotations


class RecipientError(Exception):
    retriable = False


class EnvelopeError(RecipientError):
    """One envelope was refused: it is not what the gateway sealed for this agency."""


class MalformedEnvelope(EnvelopeError):
    """Not a helhet.envelope/1 (bad JSON, missing or extra field, bad base64, unknown payload)."""


class BadSignature(EnvelopeError):
    """The gateway's Ed25519 signature does not verify: the envelope was changed or forged."""


class UnknownSigningKey(BadSignature):
    """sig_key_id names no key this receiver trusts."""


class WrongRecipient(EnvelopeError):
    """The envelope is addressed to another agency or municipality than the one opening it."""


class DecryptionFailed(EnvelopeError):
    """The data key could not be unwrapped (wrong private key) or the ciphertext is corrupt."""


class KeyUnavailable(RecipientError):
    """A key file or the gateway's key set (GET /v1/keys) cannot be read."""


class BrokerUnavailable(RecipientError):
    """The Kafka-protocol broker cannot be reached, or a read on it did not finish."""

    retriable = True
