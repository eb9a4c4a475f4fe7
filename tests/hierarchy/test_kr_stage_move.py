"""`kr_stage_move`: a funnel stage moves one place up or down by swapping its stage number
with its neighbour's (the unique stage of a funnel holds at every statement), the parent
owner's and admins', in the one lock order, refused on a locked parent whose figures it
would move (docs/decisions.md, issue 13 item 6); and `kr_contribution_update`."""

import random
import threading
from contextlib import suppress
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections, transaction

from hierarchy import services as hs
from hierarchy.models import KeyResult
from okrplan.lib import locks
from okrplan.lib.errors import StaleVersion
from plans.models import Plan
from plans.recompute import recompute_organization
from tests.planning import lock, set_plan

D = Decimal


def stages(parent) -> dict[str, int]:
    return dict(
        KeyResult.objects.filter(parent=parent).order_by("stage").values_list("title", "stage")
    )


def effective(kr) -> list[Decimal]:
    return Plan.objects.get(kr=kr).effective_values


def test_it_swaps_a_stage_with_the_one_before_it(world, funnel):
    moved = hs.kr_stage_move(kr=funnel.paid, direction="up", actor=world.owner)
    assert moved.stage == 2
    assert stages(funnel.parent) == {
        "Website visitors": 1,
        "Trials converted": 2,
        "Trials started": 3,
    }


def test_it_swaps_a_stage_with_the_one_after_it(world, funnel):
    hs.kr_stage_move(kr=funnel.visitors, direction="down", actor=world.admin)
    assert stages(funnel.parent) == {
        "Trials started": 1,
        "Website visitors": 2,
        "Trials converted": 3,
    }


def test_it_swaps_with_the_neighbour_across_a_gap_in_the_numbers(world, funnel):
    hs.kr_update(kr=funnel.paid, stage=7)
    hs.kr_stage_move(kr=funnel.paid, direction="up", actor=world.owner)
    assert stages(funnel.parent) == {
        "Website visitors": 1,
        "Trials converted": 2,
        "Trials started": 7,
    }


def test_it_recomputes_the_funnel_and_keeps_the_stored_aggregates_right(world, funnel):
    before = effective(funnel.parent)  # the last stage, paid: [100, 150, 250]
    hs.kr_stage_move(kr=funnel.paid, direction="up", actor=world.owner)
    # the last stage is now "Trials started" [600, 600, 800], scaled to the implied
    # output 10,000 × (500/10,000) × (2,000/500) = 2,000
    assert effective(funnel.parent) == [D(600), D(600), D(800)]
    assert effective(funnel.parent) != before
    assert recompute_organization(org=world.org, write=False).mismatches == []


@pytest.mark.parametrize(
    ("which", "direction", "words"),
    [
        ("visitors", "up", "is the first stage already"),
        ("paid", "down", "is the last stage already"),
    ],
)
def test_it_refuses_to_move_past_the_ends_of_the_funnel(world, funnel, which, direction, words):
    with pytest.raises(ValidationError) as refused:
        hs.kr_stage_move(kr=getattr(funnel, which), direction=direction, actor=world.owner)
    assert words in refused.value.message_dict["stage"][0]
    assert stages(funnel.parent) == {
        "Website visitors": 1,
        "Trials started": 2,
        "Trials converted": 3,
    }


def test_it_refuses_a_direction_it_does_not_know(world, funnel):
    with pytest.raises(ValidationError) as refused:
        hs.kr_stage_move(kr=funnel.paid, direction="sideways", actor=world.owner)
    assert "direction" in refused.value.message_dict


def test_it_moves_only_stages_of_a_sequential_kr(world, planning):
    with pytest.raises(ValidationError) as refused:
        hs.kr_stage_move(kr=planning.sales_kr, direction="up", actor=world.owner)
    assert refused.value.message_dict["stage"] == ["Only stages of a sequential key result move."]


@pytest.mark.parametrize("who", ["sales_lead", "marketing_lead", "member", "viewer"])
def test_it_leaves_the_order_to_the_parent_owner_and_admins(world, funnel, who):
    """sam leads the parent's department (Sales) and owns the last stage; maya owns the
    first: the funnel's order is the parent owner's (hierarchy/permissions.py)."""
    with pytest.raises(PermissionDenied):
        hs.kr_stage_move(kr=funnel.paid, direction="up", actor=getattr(world, who))
    assert stages(funnel.parent)["Trials converted"] == 3


def test_it_refuses_a_move_that_changes_a_locked_funnels_figures(world, funnel):
    lock(funnel.parent)
    before = effective(funnel.parent)
    with pytest.raises(ValidationError) as refused:
        hs.kr_stage_move(kr=funnel.paid, direction="up", actor=world.owner)
    assert "is locked" in refused.value.message_dict["stage"][0]
    assert stages(funnel.parent) == {
        "Website visitors": 1,
        "Trials started": 2,
        "Trials converted": 3,
    }
    assert effective(funnel.parent) == before


def test_it_locks_the_chain_before_it_writes(world, funnel):
    """The one lock order: a move after a round's lock fails at once (okrplan/lib/locks.py),
    so the move takes its chain before anything later in the order."""
    with pytest.raises(locks.LockOrderError), transaction.atomic():
        locks.taking(locks.ROUND, [1])
        hs.kr_stage_move(kr=funnel.paid, direction="up", actor=world.owner)


# --- A contribution's own figures ------------------------------------------------


def test_it_sets_a_stages_historical_ratio_for_its_parent_owner(world, funnel):
    hs.kr_contribution_update(kr=funnel.trials, actor=world.owner, historical_ratio=D("0.18"))
    assert KeyResult.objects.get(pk=funnel.trials.pk).historical_ratio == D("0.18")


def test_it_sets_a_claimed_impact_for_the_contributions_lead(world, nps):
    hs.kr_contribution_update(kr=nps.success, actor=world.marketing_lead, claimed_impact=D(5))
    assert KeyResult.objects.get(pk=nps.success.pk).claimed_impact == D(5)


def test_it_refuses_a_ratio_out_of_range_with_the_apis_message(world, funnel):
    with pytest.raises(ValidationError) as refused:
        hs.kr_contribution_update(kr=funnel.trials, actor=world.owner, historical_ratio=D("1.5"))
    assert refused.value.message_dict == {
        "historical_ratio": ["Must be greater than 0 and at most 1."]
    }


def test_it_refuses_the_figures_to_someone_who_shapes_nothing_here(world, funnel):
    with pytest.raises(PermissionDenied):
        hs.kr_contribution_update(kr=funnel.trials, actor=world.member, historical_ratio=D("0.2"))


def test_it_keeps_a_locked_parents_claimed_impacts(world, nps):
    lock(nps.parent)
    with pytest.raises(ValidationError) as refused:
        hs.kr_contribution_update(kr=nps.success, actor=world.owner, claimed_impact=D(5))
    assert (
        "A claimed impact is fixed while the parent is locked."
        in (refused.value.message_dict["claimed_impact"][0])
    )
    assert KeyResult.objects.get(pk=nps.success.pk).claimed_impact == D(8)


# --- PostgreSQL: concurrent moves and saves of one funnel ----------------------------


@pytest.mark.pg
@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_funnel_whole_under_concurrent_moves_and_saves(world, funnel):
    """Threads move stages up and down and save the stages' plans at once: no deadlock, no
    unique-stage violation, every stage keeps a distinct number of the original three,
    and the stored aggregates equal a full recomputation."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions: PostgreSQL (SQLite has one writer)")
    krs = [funnel.visitors, funnel.trials, funnel.paid]
    errors: list[Exception] = []
    start = threading.Barrier(6)

    def work(i: int) -> None:
        rng = random.Random(i)
        try:
            start.wait()
            for _ in range(25):
                kr = KeyResult.objects.select_related("parent").get(pk=rng.choice(krs).pk)
                if i % 3 == 2:  # a plan save of a stage: its chain, root first
                    values = [rng.randrange(1, 900) for _ in range(3)]
                    while True:
                        try:
                            set_plan(kr, values)
                            break
                        except StaleVersion:  # the other saver saved it first: read again
                            pass
                    continue
                with suppress(ValidationError):  # at an end of the funnel: nothing written
                    hs.kr_stage_move(kr=kr, direction=rng.choice(["up", "down"]), actor=world.owner)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert sorted(stages(funnel.parent).values()) == [1, 2, 3]
    assert recompute_organization(org=world.org, write=False).mismatches == []
