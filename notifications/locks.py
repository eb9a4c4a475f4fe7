"""Locking rounds and steps in the one lock order (okrplan/lib/locks.py): the chain of
their KR first, through `plans.chain.chain_lock_of`, then the round, then the step.

The services that start from a round or a step (a notice, a close, an answer) lock
through these, and nothing else locks a round or a step (the deadline scan only claims
rows it can take without waiting, `SKIP LOCKED`: the rounds it may orphan, then the
steps).
"""

from django.db.models import QuerySet

from hierarchy.models import KeyResult
from notifications.models import Round, Step
from okrplan.lib import locks
from plans import chain


def _chain_of(kr_id: int) -> None:
    kr = KeyResult.objects.only("pk", "organization_id", "path").get(pk=kr_id)
    chain.chain_lock_of(kr)


def _rounds(queryset: QuerySet, ids) -> QuerySet:
    locks.taking(locks.ROUND, ids)
    return queryset.select_for_update(of=("self",), no_key=True)


def round_lock(round_id: int, *related: str) -> Round:
    """The round, locked after the chain of its shared KR (with `related` loaded)."""
    parent_kr_id = Round.objects.values_list("parent_kr_id", flat=True).get(pk=round_id)
    _chain_of(parent_kr_id)
    return _rounds(Round.objects.select_related(*related), [round_id]).get(pk=round_id)


def open_rounds_lock(queryset: QuerySet) -> list[Round]:
    """The rounds of `queryset`, locked by a plan save (its chain, which holds their
    shared KR, is locked already)."""
    ids = list(queryset.values_list("pk", flat=True))
    if not ids:
        return []
    # locked in id order (the order within the level), returned in the queryset's
    rounds = {r.pk: r for r in _rounds(queryset.filter(pk__in=ids).order_by("pk"), ids)}
    return [rounds[i] for i in ids if i in rounds]


def step_lock(step_id: int) -> Step:
    """The step, locked after the chain of its KR and after its round (loaded)."""
    kr_id, round_id = Step.objects.values_list("kr_id", "round_id").get(pk=step_id)
    _chain_of(kr_id)
    if round_id is not None:
        _rounds(Round.objects.all(), [round_id]).get(pk=round_id)
    locks.taking(locks.STEP, [step_id])
    return (
        Step.objects.select_for_update(of=("self",), no_key=True)
        .select_related("round")
        .get(pk=step_id)
    )
