"""Events the plans app publishes (see okrplan/lib/events.py)."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AncestorFacts:
    locked: bool
    aggregation: str
    cross_functional: bool


@dataclass(frozen=True)
class PlanChanged:
    """A plan's values changed (any cause). `is_modification`: the plan was locked.

    It carries what the revision says, so subscribers need not read it again."""

    organization_id: int
    plan_id: int
    kr_id: int
    parent_id: int | None
    has_children: bool
    has_expectations: bool  # registered dependencies expect numbers of this KR
    ancestors: dict  # {kr_id: AncestorFacts}, as locked by the save
    revision_id: int
    actor_id: int | None
    is_modification: bool
    cause: str
    rationale: str
    before_target: Decimal
    after_target: Decimal
    before_values: tuple
    after_values: tuple
    # The aggregate totals of the ancestors, deepest first: {kr_id: (before, after)}
    ancestor_totals: dict


@dataclass(frozen=True)
class PlanLocked:
    kr_id: int
    actor_id: int | None


@dataclass(frozen=True)
class CheckInRecorded:
    kr_id: int
    period: int
