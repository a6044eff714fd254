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
    above U+FFFF (there code-point order and JCS's UTF-16 order could differ).

    Recursive, with leaves checked inline (this walk is on every sealed message and log entry);
    json.dumps itself recurses as deep, and the request guard bounds nesting long before."""
    kind = type(obj)
    if kind is dict:
        for key, item in obj.items():
            if type(key) is not str or (
                not key.isascii() and any(ord(char) > 0xFFFF for char in key)
            ):
                return False
            leaf = type(item)
            if leaf is str or item is None or leaf is bool:
                continue
            if leaf is int:
                if -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                    continue
                return False
            if not _fast_path_applies(item):
                return False
        return True
    if kind is list:
        for item in obj:
            leaf = type(item)
            if leaf is str or item is None or leaf is bool:
                continue
            if leaf is int:
                if -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                    continue
                return False
            if not _fast_path_applies(item):
                return False
        return True
    if kind is str or obj is None or kind is bool:
        return True
    if kind is int:
        return bool(-_SAFE_INTEGER <= obj <= _SAFE_INTEGER)
    return False


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
