"""The common family-plan schema: PlanUpdate, PlanItem, Family, categories and identifiers.

Every other package speaks these types; this package depends on nothing of the project.
"""

from schemas.categories import (
    CATEGORY_INFO,
    VOCABULARY_VERSION,
    Agency,
    Category,
    PlanAuthor,
    Sender,
    Sensitivity,
)
from schemas.errors import IdentifierError, SchemaError
from schemas.family import Coordinator, Family, Member, MemberRole
from schemas.identifiers import (
    IdKind,
    PersonId,
    PersonIdentifier,
    allow_synthetic_ids,
    is_valid_person_id,
    parse_person_id,
    set_default_allow_synthetic,
)
from schemas.notice import WITHDRAWAL_SCHEMA, WithdrawalNotice
from schemas.plan import (
    PLAN_UPDATE_SCHEMA,
    Code,
    ItemKind,
    ItemStatus,
    LegalBasis,
    Period,
    PlanItem,
    PlanUpdate,
    Responsible,
    Source,
)

__all__ = [
    "CATEGORY_INFO",
    "PLAN_UPDATE_SCHEMA",
    "VOCABULARY_VERSION",
    "WITHDRAWAL_SCHEMA",
    "Agency",
    "Category",
    "Code",
    "Coordinator",
    "Family",
    "IdKind",
    "IdentifierError",
    "ItemKind",
    "ItemStatus",
    "LegalBasis",
    "Member",
    "MemberRole",
    "Period",
    "PersonId",
    "PersonIdentifier",
    "PlanAuthor",
    "PlanItem",
    "PlanUpdate",
    "Responsible",
    "SchemaError",
    "Sender",
    "Sensitivity",
    "Source",
    "WithdrawalNotice",
    "allow_synthetic_ids",
    "is_valid_person_id",
    "parse_person_id",
    "set_default_allow_synthetic",
]
