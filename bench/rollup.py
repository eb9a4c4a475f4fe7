"""The rollup benchmark: saving a child plan, the combined view, a full recompute.

Each figure sits next to a floor measured in the same run through the same ORM:
a save next to a single-row update in a transaction, the combined view next to a
single indexed read. Save and floor (view and floor) are timed in alternation, so
a slow moment of the machine weighs on both. Medians over `REPETITIONS` after
`WARMUPS`. The recompute is the median of 2 × `RECOMPUTES` runs of each
organization, each organization timed in fresh processes (see `recompute_s`), the
10,000- and 20,000-KR organizations in alternation.

On PostgreSQL the tables are `VACUUM ANALYZE`d after the bulk load, as autovacuum
would do within a minute (and would otherwise do in the middle of the timing).
SQLite keeps no statistics unless told to (`ANALYZE`), and the app never tells it,
so it is measured without: as deployed.
"""

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from bench import CHILD_ENV
from bench.data import PERIODS, BenchOrg, org_build
from hierarchy.models import KeyResult, Organization
from notifications.selectors import alignment_view
from okrplan.lib import tenancy
from plans.models import Plan
from plans.recompute import recompute_organization
from plans.selectors import kr_get
from plans.services import plan_update

REPETITIONS = 50
WARMUPS = 3
RECOMPUTES = 5
RUN = Path(__file__).with_name("run.py")
TARGETS = {"save_ratio": 5, "view_ratio": 10, "recompute_10k_s": 2, "recompute_growth": 2.2}


@dataclass
class Saver:
    """Saves the shared parent's children in turn, each save a real change."""

    bench: BenchOrg
    turn: int = 0

    def __post_init__(self) -> None:
        plans = Plan.objects.filter(kr__in=self.bench.children)
        self.versions = {p.kr_id: p.version for p in plans}
        self.values = {p.kr_id: p.values for p in plans}

    def __call__(self) -> Plan:
        kr = self.bench.children[self.turn % (len(self.bench.children) - 1)]
        delta = Decimal(1 if (self.turn // (len(self.bench.children) - 1)) % 2 == 0 else -1)
        self.turn += 1
        values = [value + delta for value in self.values[kr.pk]]
        plan = plan_update(
            kr=kr,
            values=values,
            version=self.versions[kr.pk],
            actor=self.bench.actor,
            rationale="bench",
        )
        self.versions[kr.pk], self.values[kr.pk] = plan.version, values
        return plan


def floor_save(plan_id: int) -> Callable[[], None]:
    """A single-row update in a transaction (the last child: never saved by `Saver`)."""

    def run() -> None:
        with transaction.atomic():
            Plan.objects.filter(pk=plan_id).update(version=F("version") + 1)

    return run


def view(bench: BenchOrg) -> Callable[[], dict]:
    """The combined view of the shared parent, loaded as its API loads it."""

    def run() -> dict:
        kr = kr_get(org=bench.org, id=bench.shared_parent.pk)
        return alignment_view(org=bench.org, kr=kr)

    return run


def floor_read(bench: BenchOrg) -> Callable[[], KeyResult | None]:
    """A single indexed read of one KR of the organization."""

    def run() -> KeyResult | None:
        return KeyResult.objects.filter(organization=bench.org, pk=bench.shared_parent.pk).first()

    return run


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def paired_ms(work: Callable[[], object], floor: Callable[[], object]) -> tuple[float, float]:
    """Median milliseconds of `work` and of `floor`, timed in alternation."""
    works, floors = [], []
    for i in range(WARMUPS + REPETITIONS):
        w, f = _timed(work), _timed(floor)
        if i >= WARMUPS:
            works.append(w)
            floors.append(f)
    return statistics.median(works) * 1000, statistics.median(floors) * 1000


def query_count(fn: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries)


def recompute_times(slug: str) -> list[float]:
    """`RECOMPUTES` full recomputes (read only) of one organization, in seconds, each
    started from a collected heap. Run in a process of its own (`recompute_s`)."""
    org = Organization.objects.get(slug=slug)
    times = []
    for _ in range(RECOMPUTES):
        gc.collect()
        times.append(_timed(lambda: recompute_organization(org=org, write=False)))
    return times


def recompute_s(*benches: BenchOrg, rounds: int = 2) -> list[list[float]]:
    """Full recomputes of each organization (seconds, in run order), timed in fresh processes.

    A recompute holds the whole organization in memory (about 4 KB a KR). Timed in one
    process, the smaller organization reuses pages the larger one faulted in, while the
    larger one faults in fresh ones on every run (5-10x the page faults for twice the
    rows), which made 20,000 KRs look 2.5-2.8x slower than 10,000 for exactly twice the
    work (cProfile call counts). A fresh process per organization, as `manage.py
    recompute` runs, gives both the same start (page faults in proportion); the
    organizations alternate over `rounds`. The median, not the best: on a busy machine
    a short run catches a quiet moment more often than a long one.
    """
    times: list[list[float]] = [[] for _ in benches]
    env = {**os.environ, CHILD_ENV: "1"}
    for _ in range(rounds):
        for bench, runs in zip(benches, times, strict=True):
            command = [sys.executable, str(RUN), "--recompute", bench.org.slug]
            out = subprocess.run(command, env=env, capture_output=True, text=True)
            if out.returncode:
                raise RuntimeError(f"{' '.join(command[1:])} failed:\n{out.stderr[-2000:]}")
            runs.extend(json.loads(out.stdout.splitlines()[-1]))
    return times


def analyze() -> bool:
    """Statistics for the planner on PostgreSQL (autovacuum's job in production)."""
    if connection.vendor != "postgresql":
        return False
    with tenancy.owner(), connection.cursor() as cursor:  # the tables' owner may
        cursor.execute("VACUUM ANALYZE")
    return True


def recompute_figures(small: BenchOrg, large: BenchOrg) -> dict:
    """The recompute figures of the two organizations (see `recompute_s`)."""
    runs_small, runs_large = recompute_s(small, large)
    median_small, median_large = statistics.median(runs_small), statistics.median(runs_large)
    return {
        "recompute_10k_s": round(median_small, 3),
        "recompute_20k_s": round(median_large, 3),
        "recompute_growth": round(median_large / median_small, 2),
        "recompute_10k_runs_s": [round(t, 3) for t in runs_small],
        "recompute_20k_runs_s": [round(t, 3) for t in runs_large],
    }


def measure_recompute(*, krs: int = 10_000) -> dict:
    """Only the recompute part of `measure` (`bench/run.py --only-recompute`)."""
    small = org_build(slug="bench-10k", krs=krs)
    large = org_build(slug="bench-20k", krs=2 * krs)
    analyze()
    return {**recompute_figures(small, large), "load_average": list(os.getloadavg())}


def measure(*, krs: int = 10_000, children: int = 100) -> dict:
    """Build the two organizations, measure, and return the `rollup` figures."""
    started = time.perf_counter()
    small = org_build(slug="bench-10k", krs=krs, shared_children=children)
    large = org_build(slug="bench-20k", krs=2 * krs, shared_children=children)
    built_s = time.perf_counter() - started
    analyzed = analyze()

    saver = Saver(small)
    floor_plan = Plan.objects.get(kr=small.children[-1]).pk
    save_queries = query_count(saver)
    save_ms, save_floor_ms = paired_ms(saver, floor_save(floor_plan))
    view_queries = query_count(view(small))
    view_ms, view_floor_ms = paired_ms(view(small), floor_read(small))
    recompute = recompute_figures(small, large)

    figures = {
        "save_ms": round(save_ms, 3),
        "save_floor_ms": round(save_floor_ms, 3),
        "view_ms": round(view_ms, 3),
        "view_floor_ms": round(view_floor_ms, 3),
        "recompute_10k_s": recompute["recompute_10k_s"],
        "recompute_20k_s": recompute["recompute_20k_s"],
        "save_ratio": round(save_ms / save_floor_ms, 2),
        "view_ratio": round(view_ms / view_floor_ms, 2),
        "recompute_growth": recompute["recompute_growth"],
        "recompute_10k_runs_s": recompute["recompute_10k_runs_s"],
        "recompute_20k_runs_s": recompute["recompute_20k_runs_s"],
        "save_queries": save_queries,
        "view_queries": view_queries,
    }
    met = {
        "save_ratio": figures["save_ratio"] <= TARGETS["save_ratio"],
        "view_ratio": figures["view_ratio"] <= TARGETS["view_ratio"],
        "recompute_10k_s": figures["recompute_10k_s"] < TARGETS["recompute_10k_s"],
        "recompute_growth": figures["recompute_growth"] <= TARGETS["recompute_growth"],
    }
    return {
        **figures,
        "krs": krs,
        "children": children,
        "periods": PERIODS,
        "depth": 4,
        "repetitions": REPETITIONS,
        "warmups": WARMUPS,
        "recompute": f"median of 2 × {RECOMPUTES}, in fresh processes per organization",
        "analyzed": analyzed,
        "build_s": round(built_s, 1),
        "targets": TARGETS,
        "met": met,
    }
