"""Text forms of the log's binary values (leaf hashes, roots, proof paths, signatures).

One encoder, so the log, its checkpoints, the witness state and the HTTP routers agree.
"""

from __future__ import annotations

import base64


def b64(value: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4), as text."""
    return base64.b64encode(value).decode("ascii")
