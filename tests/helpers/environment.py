"""The machine's real services and shared files: skip where absent, fail under CI=true."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHARED_DIR = Path(__file__).resolve().parents[3] / "shared"


def unavailable(reason: str) -> None:
    """Skip, or under CI=true fail, because a required real service is missing."""
    if IN_CI:
        pytest.fail(f"required service unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def shared_formats_dir() -> Path:
    """../shared/formats (the agencies' published schemas and examples)."""
    path = SHARED_DIR / "formats"
    if not path.is_dir():
        unavailable(f"{path} is absent (the agencies' published formats)")
    return path
