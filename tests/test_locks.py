"""The one lock order is enforced, not only written down (okrplan/lib/locks.py): a unit
of work that locks a KR chain after a round or a step fails at once, on SQLite too,
instead of deadlocking now and then on PostgreSQL (tests/notifications/test_lock_order.py
runs the pairs that could)."""

from decimal import Decimal

import pytest
from django.db import transaction

from notifications import locks as nl
from notifications import services as ns
from notifications.models import Round
from okrplan.lib import locks
from plans import chain
from tests.planning import lock, set_plan


@pytest.fixture
def round_open(planning):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel change")
    return Round.objects.get()


def test_it_refuses_a_plan_save_after_a_round_locked_first(round_open, planning):
    """What `round_close` did before: the round, then (changing the target) the chain."""
    refused = pytest.raises(locks.LockOrderError, match=r"KR chain .* locked after a round")
    with refused, transaction.atomic():
        locks.taking(locks.ROUND, [round_open.pk])
        set_plan(planning.pipeline, [2, 2, 2], rationale="Closing")
    planning.pipeline.plan.refresh_from_db()
    assert planning.pipeline.plan.values != [2, 2, 2]  # nothing was written


def test_it_refuses_a_plan_save_after_a_step_locked_first(round_open, planning):
    """What `step_answer` did before: the step, then (accepting) the stage's chain."""
    step = round_open.steps.get(kind="notify")
    refused = pytest.raises(locks.LockOrderError, match="locked after a step")
    with refused, transaction.atomic():
        locks.taking(locks.STEP, [step.pk])
        set_plan(planning.sales_kr, [1, 1, 1], rationale="Answering")


def test_it_lets_a_service_lock_again_the_chain_it_locked_first(round_open, planning):
    with transaction.atomic():
        nl.round_lock(round_open.pk)  # the pipeline's chain, then the round
        chain.chain_lock_of(planning.pipeline)  # held already: no wait, no error
        with pytest.raises(locks.LockOrderError):
            chain.chain_lock_of(planning.marketing_kr)  # one more plan: not held


def test_it_closes_a_round_changing_the_target_in_the_one_order(round_open, planning, world):
    target = Decimal(4400000)
    ns.round_close(round=round_open, actor=world.owner, note="We accept 4.4M", target=target)
    planning.pipeline.refresh_from_db()
    assert planning.pipeline.target == 4400000


def test_it_scopes_the_order_to_one_unit_of_work(round_open, planning, world):
    """Services run one after the other in one transaction (a request's, a test's): what
    an ended service locked does not constrain the next one."""
    with transaction.atomic():
        ns.round_notice(round=round_open, actor=world.owner, message="Can Sales absorb it?")
        set_plan(planning.sales_kr, [1, 1, 1], rationale="Absorbing part of it")
        step = round_open.steps.get(kind="assess", kr=planning.partnerships_kr)
        ns.step_answer(step=step, actor=step.assignee, answer="no_change")
        set_plan(planning.partnerships_kr, [2, 2, 2], rationale="After all")
    assert round_open.steps.filter(kind="assess", state="done").count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_starts_each_transaction_with_no_locks(round_open, planning):
    with transaction.atomic():
        locks.taking(locks.STEP, [1])
    with transaction.atomic():  # committed: a new transaction
        set_plan(planning.sales_kr, [1, 1, 1], rationale="Later")
    with pytest.raises(RuntimeError, match="given up"), transaction.atomic():
        locks.taking(locks.STEP, [1])
        raise RuntimeError("given up")
    with transaction.atomic():  # rolled back: a new transaction too
        set_plan(planning.sales_kr, [3, 3, 3], rationale="Later still")
    planning.sales_kr.plan.refresh_from_db()
    assert planning.sales_kr.plan.values == [3, 3, 3]


# Every row lock of the app, by file: each is one of the order's levels (through
# okrplan.lib.locks.taking) or outside the order for a reason. A new one is placed in
# the order before it is added here.
LOCK_SITES = {
    "plans/chain.py": 1,  # CHAIN: the chain lock (hand-written `FOR UPDATE OF p`)
    "plans/services.py": 2,  # CHAIN: plan_submit (one plan), plan_lock (KR and children)
    "plans/recompute.py": 1,  # CHAIN: the repair locks every plan, root first
    "notifications/locks.py": 2,  # ROUND and STEP, after the chain
    # outside the order, each locked alone in its transaction and never with a chain,
    # round or step: the admins of one organization (locked last), an invitation
    # being answered or claimed through its link (then its membership is created), a
    # person's personal tokens (a new one counted), a department archived or restored,
    # a cycle archived or restored (issue 14)
    "hierarchy/services.py": 8,
}
APPS = ["hierarchy", "plans", "notifications", "okrplan"]


def _lock_sites(path) -> int:
    """`select_for_update(...)` calls that may wait (`skip_locked=True` never does) and
    hand-written `FOR UPDATE` clauses of a module."""
    import ast

    count = 0
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "select_for_update"
        ):
            skips = any(
                k.arg == "skip_locked" and getattr(k.value, "value", False) for k in node.keywords
            )
            count += not skips
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and " FOR UPDATE" in node.value
            and "SKIP LOCKED" not in node.value
        ):
            count += 1
    return count


def test_it_locks_rows_only_where_the_order_knows_it():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = {}
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            if count := _lock_sites(path):
                found[str(path.relative_to(root))] = count
    assert found == LOCK_SITES
