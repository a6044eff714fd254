"""Consent: versioned records, guardianship and age rules, statutory bases, the decision engine
(pure, over an in-memory index) and FHIR Consent R4/R5 import and export.
"""

from consent.errors import (
    AlreadyWithdrawn,
    ConsentError,
    InvalidConsent,
    UnknownConsent,
    UnsupportedFhir,
)
from consent.index import ConsentIndex
from consent.models import (
    DEFAULT_PURPOSE,
    WILDCARD,
    ConsentIn,
    ConsentRecord,
    ConsentStatus,
    Decision,
    DecisionAnswer,
    DecisionRequest,
    Evidence,
    EvidenceMethod,
    Reason,
    Restriction,
    StatutoryBasis,
    WithdrawalIn,
)
from consent.rules import AgeRules, PersonFacts, jurisdiction_of

__all__ = [
    "DEFAULT_PURPOSE",
    "WILDCARD",
    "AgeRules",
    "AlreadyWithdrawn",
    "ConsentError",
    "ConsentIn",
    "ConsentIndex",
    "ConsentRecord",
    "ConsentStatus",
    "Decision",
    "DecisionAnswer",
    "DecisionRequest",
    "Evidence",
    "EvidenceMethod",
    "InvalidConsent",
    "PersonFacts",
    "Reason",
    "Restriction",
    "StatutoryBasis",
    "UnknownConsent",
    "UnsupportedFhir",
    "WithdrawalIn",
    "jurisdiction_of",
]
