"""Subject pseudonyms: HMAC-SHA256 of a person identifier with the instance's secret key.

The log never holds a raw person number; the same person always gets the same pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac

from audit.errors import InvalidEntry

MIN_KEY_BYTES = 16


def normalise_person_id(person_id: str) -> str:
    """Digits only: "010150-1234" (CPR) and "0101501234" name the same person."""
    digits = "".join(ch for ch in person_id if ch not in " -")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidEntry("a person identifier must consist of digits")
    return digits


def pseudonymise(key: bytes, person_id: str) -> str:
    """The subject pseudonym: lowercase hex HMAC-SHA256(key, normalised person id)."""
    if len(key) < MIN_KEY_BYTES:
        raise InvalidEntry(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
    message = normalise_person_id(person_id).encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
