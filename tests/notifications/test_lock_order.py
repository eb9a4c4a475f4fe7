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
  against a save of its plan (the chain, then the KR's target).

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
