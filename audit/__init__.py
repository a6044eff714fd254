"""The disclosure log: an append-only RFC 9162 Merkle log of every disclosure, refusal,
delivery, consent and access, with signed checkpoints, proofs, queries and verification.
"""

from audit.checkpoint import Checkpoint, StoredCheckpoint, issue_checkpoint, verify_checkpoint
from audit.entries import Entry, EntryType, LogEntry
from audit.errors import (
    AuditError,
    BadRange,
    InconsistentCheckpoint,
    InvalidCheckpoint,
    InvalidEntry,
    InvalidProof,
    UnknownIndex,
    VerificationFailed,
)
from audit.log import (
    ConsistencyProof,
    InclusionProof,
    append,
    consistency_proof,
    get_entry,
    inclusion_proof,
    root,
    tree_size,
)
from audit.pseudonym import pseudonymise
from audit.query import Filters, Page, SubjectReport, export_csv, query, subject_report
from audit.tables import metadata
from audit.verify import VerifyReport, verify_log

__all__ = [
    "AuditError",
    "BadRange",
    "Checkpoint",
    "ConsistencyProof",
    "Entry",
    "EntryType",
    "Filters",
    "InclusionProof",
    "InconsistentCheckpoint",
    "InvalidCheckpoint",
    "InvalidEntry",
    "InvalidProof",
    "LogEntry",
    "Page",
    "StoredCheckpoint",
    "SubjectReport",
    "UnknownIndex",
    "VerificationFailed",
    "VerifyReport",
    "append",
    "consistency_proof",
    "export_csv",
    "get_entry",
    "inclusion_proof",
    "issue_checkpoint",
    "metadata",
    "pseudonymise",
    "query",
    "root",
    "subject_report",
    "tree_size",
    "verify_checkpoint",
    "verify_log",
]
