"""The pieces of the fault drills (`make drill`, bench/drill.py), cheaply: the servers
of the drill's own start, go away and come back, and the outage figures are read off
the clients' outcomes as the report says. The drills themselves take about three
minutes: `make drill` runs them."""

import os
import shutil

import psycopg
import pytest

from bench.drill import Outcome, outage_figures, pg_cluster, redis_server

pytestmark = pytest.mark.once


def _needs(program: str, found: bool) -> None:
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"the drill needs {program} in CI")
        pytest.skip(f"{program} is not installed")


def test_it_restarts_and_stops_a_postgresql_cluster_of_its_own():
    _needs("PostgreSQL's server binaries", os.path.isdir("/usr/lib/postgresql"))
    with pg_cluster() as cluster:
        assert cluster.port != 5432  # never the shared server
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (1)")
            cluster.restart()
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")  # the restart ended the session
        cluster.stop()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(cluster.url(), connect_timeout=2)
        cluster.start()
        with psycopg.connect(cluster.url()) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(1,)]
        folder = cluster.folder
    assert not folder.exists()


def test_it_stops_and_starts_a_redis_server_of_its_own():
    _needs("redis-server", bool(shutil.which("redis-server")))
    with redis_server() as redis:
        assert redis.port != 6379
        assert redis.answers()
        redis.stop()
        assert not redis.answers()
        redis.start()
        assert redis.answers()
    assert not redis.answers()


def test_an_outage_is_measured_from_its_start_to_the_first_saved_plan():
    outcomes = [
        Outcome(0.9, "save", 200, kr=1, version=4, done=0.95),
        Outcome(0.98, "save", 503, retry_after="5", kr=1, done=1.01),
        Outcome(1.1, "read", 503, done=1.15),  # no Retry-After: named apart
        Outcome(1.2, "save", None, error="ConnectionResetError", kr=2, done=1.3),
        Outcome(1.95, "read", 200, done=2.05),
        Outcome(2.02, "save", 503, retry_after="5", kr=2, done=2.03),
        Outcome(2.1, "save", 409, kr=2, done=2.15),
        Outcome(2.15, "save", 200, kr=1, version=5, done=2.2),
        Outcome(2.3, "save", 500, kr=2, done=2.35),  # after the first 200: not the outage's
    ]

    figures = outage_figures(outcomes, began=1.0, back=2.0)

    assert figures["database_away_s"] == 1.0
    assert figures["first_200_save_after_s"] == 0.2
    assert figures["first_200_read_after_s"] == 0.05
    assert figures["503_after_back"] == 1
    assert figures["503_after_first_200"] == 0
    assert figures["answers"] == {
        "200": 2,
        "409": 1,
        "503": 2,
        "503 without Retry-After": 1,
        "error:ConnectionResetError": 1,
    }
