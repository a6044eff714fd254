"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for everything helhet signs or hashes.

One function, so the envelope's AAD, its signature input and its hash all use the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

CanonicalizationError = rfc8785.CanonicalizationError

_SAFE_INTEGER = 2**53 - 1


def _fast_path_applies(obj: Any) -> bool:
    """True when json.dumps produces exactly the JCS bytes: no floats, no integers beyond
    ±(2**53 - 1), only exact str/int/bool/None/list/dict, and no object key with characters
    above U+FFFF (there code-point order and JCS's UTF-16 order could differ)."""
    stack = [obj]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str or kind is bool or value is None:
            continue
        if kind is int:
            if -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return False
                if not key.isascii() and any(ord(char) > 0xFFFF for char in key):
                    return False
                stack.append(item)
            continue
        if kind is list:
            stack.extend(value)
            continue
        return False
    return True


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 serialisation of `obj` (UTF-8, sorted keys, no whitespace, ES6 numbers).

    Raises rfc8785.CanonicalizationError for what JCS cannot represent (NaN, infinities,
    integers beyond ±(2**53 - 1), non-string keys). Documents without floats take a fast path
    through the json module that yields the same bytes (tested against rfc8785).
    """
    if _fast_path_applies(obj):
        try:
            text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
            return text.encode("utf-8")
        except (UnicodeEncodeError, ValueError):
            pass  # e.g. a lone surrogate: let rfc8785 give its own error
    return rfc8785.dumps(obj)
