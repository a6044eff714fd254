"""The one clock of the gateway: timezone-aware UTC now (injected where tests need another)."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
