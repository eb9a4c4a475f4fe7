"""The one lock order (docs/reliability.md "One lock order"): the KR chain, root first,
then rounds, then steps. Each pair of services that could take them the other way round
runs against each other in two threads on PostgreSQL, each in its own connection and
transaction, iteration after iteration: no deadlock, no error, and the stored
aggregates equal a full recomputation afterwards.

- closing a round (which may change the shared target: the parent's chain) against a
  child's modification (its chain, then the open rounds of its parent);
- accepting a cascade review (a step, then the stage's chain) against an upstream save
  (its chain, then the later stages' open reviews, superseded);
- changing a KR's fields and target (which wrote the KR's row, then locked its chain)
  against a save of its plan (the chain, then the KR's target);
- the deadline scan at the notify deadline (which claimed the step, then orphaned its
  round) against the impact notice (the round, then that step);
- two moves the other way round (each locked its old chain, then its new one);
- a rename of a KR read before its parent moved (which wrote back the old path).

SQLite serializes writers with one database lock: these run on PostgreSQL only.
"""

import threading
import time
from collections import Counter
from decimal import Decimal

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from notifications import services as ns
from notifications.models import Round, RoundStatus, Step, StepState
from plans.models import Plan
from plans.recompute import recompute_organization
from tests.planning import lock, set_plan

D = Decimal
ITERATIONS = 200
DEADLOCK_TIMEOUT = "100ms"  # PostgreSQL's default (1 s) makes each deadlock cost a second

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions: PostgreSQL (SQLite has one writer)")


@pytest.fixture(autouse=True)
def _quick_deadlock_detection(_postgresql_only):
    """New connections to the test database detect a deadlock after 100 ms, so a
    regression fails in seconds rather than minutes (a superuser's setting: set on the
    database by its owner, for the test database only)."""
    settings = connection.settings_dict
    dsn = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
        "password": settings["PASSWORD"] or None,
    }
    name = connection.ops.quote_name(settings["NAME"])
    with psycopg.connect(dbname=settings["NAME"], autocommit=True, **dsn) as owner:
        owner.execute(f"ALTER DATABASE {name} SET deadlock_timeout = '{DEADLOCK_TIMEOUT}'")
    yield
    with psycopg.connect(dbname=settings["NAME"], autocommit=True, **dsn) as owner:
        owner.execute(f"ALTER DATABASE {name} RESET deadlock_timeout")


def _is_deadlock(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, psycopg.errors.DeadlockDetected):
            return True
        error = error.__cause__ or error.__context__
    return False


class Pair:
    """Two threads, `first(i)` and `second(i)`, started together for each iteration and
    waiting for each other at its end; what each outcome was, and every exception."""

    def __init__(self):
        self.outcomes = Counter()
        self.errors: list[BaseException] = []
        self.deadlocks = 0
        self._lock = threading.Lock()

    def count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] += 1

    def run(self, *, setup, first, second, iterations: int = ITERATIONS) -> float:
        start, end = threading.Barrier(2, timeout=60), threading.Barrier(2, timeout=60)

        def loop(work, prepare) -> None:
            try:
                for i in range(iterations):
                    if prepare is not None:
                        prepare(i)
                    start.wait()
                    try:
                        work(i)
                    except Exception as error:  # counted and reported by the test
                        with self._lock:
                            if _is_deadlock(error):
                                self.deadlocks += 1
                            else:
                                self.errors.append(error)
                    end.wait()
            finally:
                connections.close_all()  # this thread's connection

        began = time.monotonic()
        threads = [
            threading.Thread(target=loop, args=(first, setup)),
            threading.Thread(target=loop, args=(second, None)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "a thread never finished"
        return time.monotonic() - began


def _figures(name: str, pair: Pair, seconds: float) -> None:
    print(
        f"\n{name}: {ITERATIONS} iterations, {pair.deadlocks} deadlocks, "
        f"{len(pair.errors)} other errors, {dict(pair.outcomes)}, {seconds:.1f} s"
    )


def test_it_closes_rounds_while_a_child_modifies_its_plan_without_deadlock(planning, world):
    """The parent owner closes a round, changing the shared target, while Marketing
    modifies its locked plan again (which joins the open round, or opens the next)."""
    lock(planning.pipeline)
    child, parent = planning.marketing_kr, planning.pipeline
    plans = ([800000, 800000, 800000], [700000, 800000, 900000])
    targets = (D(4400000), D(4500000))

    def open_round() -> Round:
        found = Round.objects.filter(parent_kr=parent, status=RoundStatus.OPEN).last()
        if found is None:
            set_plan(child, plans[0], rationale="Channel algorithm change")
            found = Round.objects.filter(parent_kr=parent, status=RoundStatus.OPEN).last()
        return found

    rounds: dict[int, Round] = {}

    def setup(i: int) -> None:
        rounds[i] = open_round()

    def close(i: int) -> None:
        ns.round_close(
            round=rounds[i], actor=world.owner, note=f"Decided {i}", target=targets[i % 2]
        )
        pair.count("closed")

    def modify(i: int) -> None:
        set_plan(child, plans[(i + 1) % 2], rationale=f"Changed again {i}")
        pair.count("modified")

    pair = Pair()
    seconds = pair.run(setup=setup, first=close, second=modify)
    _figures("round_close vs a child's save", pair, seconds)

    assert pair.deadlocks == 0
    assert pair.errors == []
    assert pair.outcomes == {"closed": ITERATIONS, "modified": ITERATIONS}
    assert Round.objects.filter(status=RoundStatus.CLOSED).count() == ITERATIONS
    assert Round.objects.filter(status=RoundStatus.OPEN).count() <= 1
    parent.refresh_from_db()
    assert parent.target == targets[(ITERATIONS - 1) % 2]  # the last close's decision
    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_answers_cascade_reviews_while_upstream_saves_without_deadlock(funnel, world):
    """A later stage's owner accepts the cascade review while the first stage changes
    its plan again (which supersedes the open reviews and opens new ones)."""
    lock(funnel.parent)
    upstream, stage = funnel.visitors, funnel.trials
    # three plans in turn: the next one's implied target for the stage is neither the
    # open review's nor the stage's own, so the save supersedes the open review
    plans = [[D(v) for v in p] for p in ([2400, 2400, 3200], [3000, 3000, 4000], [3600] * 3)]
    reviews = Step.objects.filter(kind="cascade_review", kr=stage, state=StepState.OPEN)
    steps: dict[int, Step] = {}

    def upstream_save(i: int) -> None:
        current = Plan.objects.get(kr=upstream).values
        values = plans[(plans.index(current) + 1) % 3 if current in plans else 0]
        set_plan(upstream, values, rationale=f"Budget moved {i}")

    def setup(i: int) -> None:
        for _ in range(2):  # the stage may have its implied target already: once more
            if reviews.exists():
                break
            upstream_save(-i)
        steps[i] = reviews.get()

    def accept(i: int) -> None:
        try:
            ns.step_answer(step=steps[i], actor=stage.owner, answer="accept")
        except ValidationError as error:  # the upstream save superseded it first
            assert "superseded already" in str(error), error
            pair.count("superseded first")
        else:
            pair.count("accepted")

    def save(i: int) -> None:
        upstream_save(i)
        pair.count("upstream saved")

    pair = Pair()
    seconds = pair.run(setup=setup, first=accept, second=save)
    _figures("step_answer vs an upstream save", pair, seconds)

    assert pair.deadlocks == 0
    assert pair.errors == []
    assert pair.outcomes["upstream saved"] == ITERATIONS
    assert pair.outcomes["accepted"] + pair.outcomes["superseded first"] == ITERATIONS
    assert pair.outcomes["accepted"] > 0
    assert reviews.count() <= 1  # one open review of the stage at a time
    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_changes_a_kr_and_its_target_while_its_plan_is_saved_without_deadlock(planning, world):
    """A PATCH of a KR with fields and a target (the KR's row, then its chain) while its
    owner saves the plan (the chain, then the KR's target)."""
    from hierarchy.models import KeyResult
    from okrplan.lib.errors import StaleVersion
    from plans import services as ps

    kr = planning.sales_kr
    targets = (D(1400000), D(1600000))

    def change(i: int) -> None:
        fresh = KeyResult.objects.select_related("cycle", "organization").get(pk=kr.pk)
        try:
            ps.kr_change(
                kr=fresh, actor=kr.owner, fields={"title": f"Sales {i}"}, target=targets[i % 2]
            )
        except StaleVersion:  # the plan was saved in between: the 409 a user gets
            pair.count("stale")
        else:
            pair.count("changed")

    def save(i: int) -> None:
        try:
            set_plan(kr, [500000 + i, 500000, 500000])
        except StaleVersion:
            pair.count("stale")
        else:
            pair.count("saved")

    pair = Pair()
    seconds = pair.run(setup=None, first=change, second=save)
    _figures("kr_change vs a plan save", pair, seconds)

    assert pair.deadlocks == 0
    assert pair.errors == []
    kr.refresh_from_db()
    assert kr.target == sum(kr.plan.values)  # the KR's target is its plan's total
    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_scans_the_notify_deadline_while_the_notice_is_sent_without_deadlock(planning, world):
    """At the notify deadline the scan escalates the missed notify step and orphans its
    round, while the parent owner sends the impact notice (the round, then that step)."""
    from notifications.deadlines import deadline_scan

    lock(planning.pipeline)
    child = planning.marketing_kr
    plans = ([800000, 800000, 800000], [700000, 800000, 900000])
    rounds: dict[int, tuple[Round, object]] = {}

    def setup(i: int) -> None:
        for previous in Round.objects.filter(status=RoundStatus.OPEN):
            ns.round_close(round=previous, actor=world.owner, note=f"Closed {i}")
        set_plan(child, plans[i % 2], rationale=f"Channel change {i}")
        opened = Round.objects.get(status=RoundStatus.OPEN)
        rounds[i] = (opened, opened.steps.get(kind="notify").due_at)

    def scan(i: int) -> None:
        report = deadline_scan(now=rounds[i][1])
        pair.count("orphaned" if report.orphaned else "scanned after the notice")

    def notice(i: int) -> None:
        ns.round_notice(round=rounds[i][0], actor=world.owner, message=f"Notice {i}")
        pair.count("noticed")

    pair = Pair()
    seconds = pair.run(setup=setup, first=scan, second=notice)
    _figures("deadline scan vs round_notice", pair, seconds)

    assert pair.deadlocks == 0
    assert pair.errors == []
    assert pair.outcomes["noticed"] == ITERATIONS
    scanned = pair.outcomes["orphaned"] + pair.outcomes["scanned after the notice"]
    assert scanned == ITERATIONS
    # each round noticed once, orphaned at most once, each escalation sent once
    assert Round.objects.filter(noticed_at__isnull=False).count() == ITERATIONS
    assert Round.objects.filter(orphaned=True).count() == pair.outcomes["orphaned"]
    notify = Step.objects.filter(kind="notify")
    assert notify.filter(state=StepState.OPEN).count() == 0
    assert recompute_organization(org=world.org, write=False).mismatches == []


def _wrong_paths(org) -> list[int]:
    """KRs whose stored path is not their parent's path and the parent: the tree the
    rollups, the lock order and the views read."""
    from hierarchy.models import KeyResult

    krs = {k.pk: k for k in KeyResult.objects.filter(organization=org)}
    return [
        k.pk
        for k in krs.values()
        if k.path != (f"{krs[k.parent_id].path}{k.parent_id}/" if k.parent_id else "")
    ]


def test_it_moves_two_krs_in_opposite_directions_without_deadlock(planning, world):
    """Two PATCHes at once: Marketing's KR moves from the pipeline to another shared KR
    while that one's child moves to the pipeline (each locks two chains)."""
    from hierarchy.models import KeyResult
    from plans import services as ps
    from tests.planning import make_kr

    pipeline = planning.pipeline
    other = make_kr(world, planning.objective, title="Expansion pipeline")
    child = make_kr(
        world, planning.objective, title="Upsell pipeline", parent=other, department=world.sales
    )
    set_plan(child, [100000, 100000, 100000])
    x, y = planning.marketing_kr, child

    def move(kr_id: int, parent: KeyResult) -> None:
        kr = KeyResult.objects.select_related("cycle", "organization").get(pk=kr_id)
        ps.kr_change(kr=kr, actor=world.admin, fields={"parent": parent})
        pair.count("moved")

    def first(i: int) -> None:
        move(x.pk, (other, pipeline)[i % 2])

    def second(i: int) -> None:
        move(y.pk, (pipeline, other)[i % 2])

    pair = Pair()
    seconds = pair.run(setup=None, first=first, second=second)
    _figures("a move vs a move the other way", pair, seconds)

    assert pair.deadlocks == 0
    assert pair.errors == []
    assert pair.outcomes == {"moved": 2 * ITERATIONS}
    last = (ITERATIONS - 1) % 2
    assert KeyResult.objects.get(pk=x.pk).parent_id == (other, pipeline)[last].pk
    assert KeyResult.objects.get(pk=y.pk).parent_id == (pipeline, other)[last].pk
    assert _wrong_paths(world.org) == []
    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_renames_a_kr_while_its_parent_moves_without_a_stale_write(planning, world):
    """A PATCH of a KR's title (its row as read by the request) while its parent moves
    to another shared KR (which rewrites the paths of its subtree): the rename writes
    its title, never a path or a target read before the move."""
    from hierarchy.models import KeyResult
    from plans import services as ps
    from tests.planning import make_kr

    roots = (planning.pipeline, make_kr(world, planning.objective, title="Expansion pipeline"))
    parent = planning.sales_kr
    leaf = make_kr(
        world, planning.objective, title="Outbound calls", parent=parent, department=world.sales
    )
    set_plan(leaf, [100000, 100000, 100000])
    read: dict[int, KeyResult] = {}
    stale = []

    def setup(i: int) -> None:
        if wrong := _wrong_paths(world.org):  # count it, and repair it for the next one
            stale.append(i)
            KeyResult.objects.filter(pk=leaf.pk).update(
                path=KeyResult.objects.get(pk=parent.pk).path + f"{parent.pk}/"
            )
            assert wrong == [leaf.pk]
        # the request reads the KR, then the move commits, then the rename saves
        read[i] = KeyResult.objects.select_related("cycle", "organization").get(pk=leaf.pk)

    def rename(i: int) -> None:
        ps.kr_change(kr=read[i], actor=world.admin, fields={"title": f"Outbound calls {i}"})
        pair.count("renamed")

    def move(i: int) -> None:
        kr = KeyResult.objects.select_related("cycle", "organization").get(pk=parent.pk)
        ps.kr_change(kr=kr, actor=world.admin, fields={"parent": roots[(i + 1) % 2]})
        pair.count("moved")

    pair = Pair()
    seconds = pair.run(setup=setup, first=rename, second=move)
    setup(ITERATIONS)
    _figures("a rename vs a move of its parent", pair, seconds)
    print(f"stale paths written back: {len(stale)} of {ITERATIONS}")

    assert pair.deadlocks == 0
    assert pair.errors == []
    assert stale == []
    leaf.refresh_from_db()
    assert leaf.title == f"Outbound calls {ITERATIONS - 1}"
    assert leaf.target == sum(leaf.plan.values)
    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_adds_and_removes_children_while_the_parents_target_changes_without_deadlock(
    planning, world
):
    """A child created under a shared KR, then deleted (each writes the parent's row, its
    cross-functional flag, and its reactions lock the parent's chain) while the parent's
    owner changes its target (the chain, then the parent's row)."""
    from hierarchy import services as hs
    from hierarchy.models import KeyResult
    from plans import services as ps
    from tests.planning import make_kr

    parent = make_kr(world, planning.objective, title="Expansion pipeline")
    make_kr(world, planning.objective, title="Upsell", parent=parent, department=world.sales)
    targets = (D(1400000), D(1600000))

    def add_and_remove(i: int) -> None:
        fresh = KeyResult.objects.select_related("organization").get(pk=parent.pk)
        child = make_kr(
            world, planning.objective, title=f"Child {i}", parent=fresh, department=world.marketing
        )
        pair.count("added")
        hs.kr_delete(kr=KeyResult.objects.get(pk=child.pk))
        pair.count("removed")

    def change_target(i: int) -> None:
        fresh = KeyResult.objects.select_related("cycle", "organization").get(pk=parent.pk)
        ps.kr_change(kr=fresh, actor=world.admin, fields={}, target=targets[i % 2])
        pair.count("changed")

    pair = Pair()
    seconds = pair.run(setup=None, first=add_and_remove, second=change_target)
    _figures("a child added and removed vs the parent's target", pair, seconds)

    assert pair.deadlocks == 0
    assert pair.errors == []
    assert pair.outcomes == {"added": ITERATIONS, "removed": ITERATIONS, "changed": ITERATIONS}
    assert KeyResult.objects.get(pk=parent.pk).target == targets[(ITERATIONS - 1) % 2]
    assert recompute_organization(org=world.org, write=False).mismatches == []
