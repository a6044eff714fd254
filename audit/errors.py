"""The audit package's exceptions: one tree rooted at AuditError.

AuditError
├── InvalidEntry            an entry that cannot be logged (422)
├── UnknownIndex            no entry at that index (404)
├── BadRange                a tree size, range, filter or cursor that makes no sense (422)
├── InconsistentCheckpoint  a checkpoint that contradicts one signed or seen before (409)
└── VerificationFailed      a proof, signature or the stored log does not verify
    ├── InvalidProof        an inclusion or consistency proof is refused
    └── InvalidCheckpoint   a checkpoint is malformed or its signature is missing or forged

`status_code` is the HTTP status the gateway should answer with.
"""

from __future__ import annotations


class AuditError(Exception):
    """Root of the audit package's errors."""

    status_code = 500


class InvalidEntry(AuditError, ValueError):
    status_code = 422


class UnknownIndex(AuditError, LookupError):
    status_code = 404

    def __init__(self, index: int, size: int) -> None:
        super().__init__(f"no log entry at index {index} (the log holds {size} entries)")
        self.index = index
        self.size = size


class BadRange(AuditError, ValueError):
    status_code = 422


class InconsistentCheckpoint(AuditError):
    status_code = 409


class VerificationFailed(AuditError):
    status_code = 422


class InvalidProof(VerificationFailed):
    pass


class InvalidCheckpoint(VerificationFailed):
    pass
