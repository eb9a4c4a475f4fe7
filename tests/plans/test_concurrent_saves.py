"""Concurrent saves on PostgreSQL (issue 8): many threads saving sibling plans of one
shared KR at once, each in its own connection and transaction. The chain is locked in
one global order, so nothing deadlocks, no update is lost, and the stored aggregates
equal a full recomputation afterwards; writers of the same version: exactly one wins,
the others get 409.

SQLite serializes writers with one database lock and ignores `select_for_update`, so
these tests run on PostgreSQL only (the second pass of `make test`).
"""

import random
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from okrplan.lib.errors import StaleVersion
from plans import services as ps
from plans.models import Plan, PlanRevision
from plans.recompute import recompute_organization
from tests.plans.test_rollup_queries import Trees

D = Decimal
THREADS = 8
SAVES_PER_THREAD = 250  # 2,000 saves in all
SIBLINGS = 20

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions: PostgreSQL (SQLite has one writer)")


def _run_in_threads(work, count: int) -> list[Exception]:
    """Run `work(i)` in `count` threads started together; the errors they raised."""
    errors: list[Exception] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except Exception as error:  # reported by the test, whatever it is
            errors.append(error)
        finally:
            connections.close_all()  # this thread's connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a saving thread never finished"
    return errors


def test_it_keeps_the_aggregates_right_under_thousands_of_concurrent_sibling_saves(world):
    trees = Trees(world)
    siblings = trees.deep(SIBLINGS)  # root → middle → 20 siblings: a chain of three locks
    middle, root = siblings[0].parent, siblings[0].parent.parent
    saved = Counter()
    retries = Counter()
    lock = threading.Lock()

    def work(i: int) -> None:
        rng = random.Random(i)
        for _ in range(SAVES_PER_THREAD):
            kr = rng.choice(siblings)
            values = [D(rng.randrange(0, 1000)) for _ in range(3)]
            while True:
                version = Plan.objects.get(kr_id=kr.pk).version
                try:
                    ps.plan_update(kr=kr, values=values, version=version, actor=kr.owner)
                    break
                except StaleVersion:  # another thread saved this sibling first: read again
                    with lock:
                        retries[kr.pk] += 1
            with lock:
                saved[kr.pk] += 1

    errors = _run_in_threads(work, THREADS)

    assert errors == []  # no deadlock, no serialization failure, nothing else
    assert sum(saved.values()) == THREADS * SAVES_PER_THREAD
    report = recompute_organization(org=trees.org, write=False)
    assert report.mismatches == []
    plans = {p.kr_id: p for p in Plan.objects.filter(kr__in=[*siblings, middle, root])}
    for kr in siblings:  # no lost update: one version and one revision per save
        assert plans[kr.pk].version == 1 + saved[kr.pk]
        assert PlanRevision.objects.filter(kr=kr).count() == saved[kr.pk]
    sums = [sum(plans[kr.pk].values[p] for kr in siblings) for p in range(3)]
    assert plans[middle.pk].effective_values == sums
    assert plans[root.pk].effective_values == sums


def test_it_lets_exactly_one_writer_of_a_version_win_and_answers_409_to_the_others(world):
    trees = Trees(world)
    kr = trees.siblings(3)[0]
    token = Token.objects.create(user=world.owner).key
    url = f"/api/v1/orgs/{world.org.slug}/krs/{kr.pk}/plan/"
    statuses = [None] * THREADS

    def work(i: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = client.put(url, {"values": [str(i), "1", "1"], "version": 1}, format="json")
        statuses[i] = response.status_code

    errors = _run_in_threads(work, THREADS)

    assert errors == []
    assert sorted(statuses) == [200] + [409] * (THREADS - 1)
    plan = Plan.objects.get(kr=kr)
    assert plan.version == 2
    assert PlanRevision.objects.filter(kr=kr).count() == 1
    assert recompute_organization(org=trees.org, write=False).mismatches == []
