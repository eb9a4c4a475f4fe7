"""Events the plans app publishes (see okrplan/lib/events.py)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanChanged:
    """A plan's values changed (any cause). `is_modification`: the plan was locked."""

    plan_id: int
    kr_id: int
    revision_id: int
    actor_id: int | None
    is_modification: bool
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
