"""The category vocabulary (fixed, versioned) and each category's sensitivity and domain.

Consent, minimisation and the disclosure log speak only in these categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

VOCABULARY_VERSION = "2"


class Sensitivity(StrEnum):
    ORDINARY = "ordinary"
    SPECIAL = "special"  # GDPR art. 9 (health)
    CONFIDENTIAL = "confidential"  # statutory confidentiality (child welfare)


class Category(StrEnum):
    EMPLOYMENT = "employment"
    INCOME_SUPPORT = "income_support"
    EDUCATION_ATTENDANCE = "education.attendance"
    EDUCATION_SUPPORT = "education.support"
    HEALTH_CHILD = "health.child"
    HEALTH_MENTAL = "health.mental"
    HEALTH_SUBSTANCE = "health.substance"
    HEALTH_GENERAL = "health.general"
    CHILD_WELFARE_REPORT = "child_welfare.report"
    CHILD_WELFARE_MEASURE = "child_welfare.measure"
    HOUSING_SITUATION = "housing.situation"
    HOUSING_SUPPORT = "housing.support"
    HOUSING_EVICTION = "housing.eviction"
    PLAN_GOAL = "plan.goal"
    PLAN_MEASURE = "plan.measure"
    PLAN_COORDINATION = "plan.coordination"
    PLAN_OVERVIEW = "plan.overview"

    @property
    def domain(self) -> str:
        """The part before the dot: the domain age rules are configured by (health, …)."""
        return self.value.split(".", 1)[0]

    @property
    def sensitivity(self) -> Sensitivity:
        return CATEGORY_INFO[self].sensitivity


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    category: Category
    sensitivity: Sensitivity
    description: str


CATEGORY_INFO: dict[Category, CategoryInfo] = {
    info.category: info
    for info in (
        CategoryInfo(Category.EMPLOYMENT, Sensitivity.ORDINARY, "work, activities and training"),
        CategoryInfo(Category.INCOME_SUPPORT, Sensitivity.ORDINARY, "financial assistance"),
        CategoryInfo(Category.EDUCATION_ATTENDANCE, Sensitivity.ORDINARY, "school absence"),
        CategoryInfo(Category.EDUCATION_SUPPORT, Sensitivity.ORDINARY, "special support"),
        CategoryInfo(Category.HEALTH_CHILD, Sensitivity.SPECIAL, "health centre, child health"),
        CategoryInfo(Category.HEALTH_MENTAL, Sensitivity.SPECIAL, "mental health services"),
        CategoryInfo(Category.HEALTH_SUBSTANCE, Sensitivity.SPECIAL, "substance services"),
        CategoryInfo(Category.HEALTH_GENERAL, Sensitivity.SPECIAL, "other health services"),
        CategoryInfo(Category.CHILD_WELFARE_REPORT, Sensitivity.CONFIDENTIAL, "reports of concern"),
        CategoryInfo(
            Category.CHILD_WELFARE_MEASURE, Sensitivity.CONFIDENTIAL, "child welfare measures"
        ),
        CategoryInfo(Category.HOUSING_SITUATION, Sensitivity.ORDINARY, "living situation"),
        CategoryInfo(Category.HOUSING_SUPPORT, Sensitivity.ORDINARY, "housing benefit"),
        CategoryInfo(Category.HOUSING_EVICTION, Sensitivity.ORDINARY, "eviction steps"),
        CategoryInfo(
            Category.PLAN_GOAL, Sensitivity.ORDINARY, "the family's goals and their evaluations"
        ),
        CategoryInfo(
            Category.PLAN_MEASURE, Sensitivity.ORDINARY, "a measure's details (what, unit, contact)"
        ),
        CategoryInfo(Category.PLAN_COORDINATION, Sensitivity.ORDINARY, "review meetings"),
        CategoryInfo(
            Category.PLAN_OVERVIEW,
            Sensitivity.ORDINARY,
            "the overview: measures per agency with status and dates, the next meeting",
        ),
    )
}


class Agency(StrEnum):
    """The agencies that exchange data through helhet (each has its own topic)."""

    NAV = "nav"
    SCHOOL = "school"
    HEALTH = "health"
    CHILD_WELFARE = "child_welfare"
    HOUSING = "housing"


class PlanAuthor(StrEnum):
    """A source that is not an agency: the family coordinator writing the family plan.

    It sends (its PlanUpdates are forwarded under consent like an agency's records) but never
    receives: it is in no team and has no topic.
    """

    COORDINATOR = "coordinator"


# Who a PlanUpdate (and a consent's `sources`) may name as its source.
Sender = Agency | PlanAuthor
