"""The chain lock: the first lock of every write that touches a KR's plan, its rounds or
its steps (the one lock order of okrplan/lib/locks.py)."""

from django.db.models import Exists, OuterRef
from django.db.models.functions import Length

from hierarchy.models import Dependency, KeyResult
from okrplan.lib import locks
from plans.models import Plan


def chain_lock(*, organization_id: int, kr_ids: list[int]) -> dict[int, Plan]:
    """Lock the plans of `kr_ids`, root first (shorter path, then KR id: the one lock
    order of okrplan/lib/locks.py, which comes before rounds and steps; concurrent saves
    of siblings queue on their common ancestors, holding nothing else, never deadlock),
    and return them by KR id, each with its KR, the KR's cycle and organization, and two
    facts: `has_children` and `has_expectations` (a registered dependency expects a
    number of this KR). One query; only the plans' rows are locked (`FOR UPDATE OF`)."""
    locks.taking(locks.CHAIN, kr_ids)
    plans = (
        Plan.objects.filter(organization_id=organization_id, kr_id__in=kr_ids)
        .select_related("kr__cycle", "kr__organization")
        .annotate(
            has_children=Exists(KeyResult.objects.filter(parent_id=OuterRef("kr_id"))),
            has_expectations=Exists(
                Dependency.objects.filter(
                    upstream_id=OuterRef("kr_id"), expected_value__isnull=False
                )
            ),
        )
        # root first: an ancestor's path is a prefix of its descendants' (okrplan/lib/locks.py)
        .order_by(Length("kr__path"), "kr_id")
        .select_for_update(of=("self",))
    )
    return {plan.kr_id: plan for plan in plans}


def chain_lock_of(kr: KeyResult) -> dict[int, Plan]:
    """Lock the chain of `kr` (its ancestors' plans and its own), root first: the first
    lock of every write that touches a KR's plan, its rounds or its steps."""
    return chain_lock(organization_id=kr.organization_id, kr_ids=[*kr.ancestor_ids, kr.pk])
