"""okrplan benchmarks: `make bench` (or `.venv/bin/python bench/run.py`).

Measures the rollup (see `bench/rollup.py`) and the deadline scan (`bench/deadlines.py`,
100,000 open steps of which 10,000 are due). The rollup: for an organization of 10,000 KRs
(depth 4) with a shared parent of 100 children over 13 weekly periods, the median
time to save a child plan through `plan_update` and to build the combined view
(`alignment_view`), each next to a floor measured in the same run (a single-row
update; a single indexed read), and a full `recompute_organization` of that
organization and of one of 20,000 KRs.

It runs on a database of its own, never the development one: a temporary SQLite
file, or, when DATABASE_URL is set, a fresh PostgreSQL database `okrplan_bench`
(`OKRPLAN_BENCH_DB` names another) on the same server (dropped and created through
the `postgres` maintenance database, dropped again at the end). The figures are merged into
`bench/results.json` under `rollup`, other benchmarks' keys kept.

Settings load with DEBUG=1 unless DEBUG is set (for the development secret key);
queries are not logged while timing, as in production. `--profile` prints where a
save, a view and a recompute spend their time (cProfile) instead of timing them.
`--only-recompute` times only the full recomputes and prints their figures without
writing them. For the cycle tree page (docs/performance.md): `--profile-tree` prints its
Python calls per request next to its floor's (cProfile, through the test client), and
`--http --only-tree` times it and its floor alone under gunicorn (printed, not kept).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
# Another name (OKRPLAN_BENCH_DB) lets two runs share a server.
PG_NAME = os.environ.get("OKRPLAN_BENCH_DB", "okrplan_bench")


def _pg_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _pg_recreate(url: str, *, create: bool) -> None:
    """Drop `okrplan_bench` if it exists, and create it afresh when `create`."""
    import psycopg

    with psycopg.connect(_pg_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')


@contextmanager
def bench_database() -> Iterator[str]:
    """Point the settings at a database of the benchmark's own; yield its description."""
    url = os.environ.get("DATABASE_URL")
    if url:
        _pg_recreate(url, create=True)
        os.environ["DATABASE_URL"] = _pg_url(url, PG_NAME)
        try:
            yield f"PostgreSQL database {PG_NAME} (from DATABASE_URL)"
        finally:
            _close_connections()
            _pg_recreate(url, create=False)
            os.environ["DATABASE_URL"] = url
        return
    folder = tempfile.mkdtemp(prefix="okrplan-bench-")
    os.environ["SQLITE_PATH"] = str(Path(folder) / "bench.sqlite3")
    try:
        yield f"SQLite {os.environ['SQLITE_PATH']} (temporary; set DATABASE_URL for PostgreSQL)"
    finally:
        _close_connections()
        shutil.rmtree(folder, ignore_errors=True)


def _close_connections() -> None:
    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()


def setup(*, migrate: bool = True) -> None:
    import django
    from django.conf import settings
    from django.core.management import call_command

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okrplan.settings")
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)
    from okrplan.lib import tenancy

    # The benchmark's builders and checks are the operator's: every organization (the
    # servers it starts run as the app, each request in its own organization).
    tenancy.session_scope_default(tenancy.SYSTEM)
    from django.db import connections

    connections.close_all()  # the next connection starts in it
    settings.DEBUG = False  # no query log while timing, as in production


def database() -> dict:
    from django.db import connection

    if connection.vendor == "postgresql":
        version = connection.pg_version
        return {"database": "postgresql", "database_version": f"{version // 10000}.{version % 100}"}
    import sqlite3

    return {"database": connection.vendor, "database_version": sqlite3.sqlite_version}


def results_merge(key: str, figures: dict) -> None:
    """Update one top-level key of bench/results.json, keeping the others."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[key] = figures
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def report(figures: dict, where: str) -> str:
    targets, met = figures["targets"], figures["met"]
    rows = [
        ("save a child plan", f"{figures['save_ms']:.2f} ms", f"{figures['save_floor_ms']:.3f} ms",
         f"{figures['save_ratio']:.1f}×", f"≤ {targets['save_ratio']}×", met["save_ratio"]),
        ("combined view", f"{figures['view_ms']:.2f} ms", f"{figures['view_floor_ms']:.3f} ms",
         f"{figures['view_ratio']:.1f}×", f"≤ {targets['view_ratio']}×", met["view_ratio"]),
        ("recompute 10k KRs", f"{figures['recompute_10k_s']:.3f} s", "", "",
         f"< {targets['recompute_10k_s']} s", met["recompute_10k_s"]),
        ("recompute 20k KRs", f"{figures['recompute_20k_s']:.3f} s", "",
         f"{figures['recompute_growth']:.2f}×", f"≤ {targets['recompute_growth']}×",
         met["recompute_growth"]),
    ]  # fmt: skip
    lines = [
        f"Rollup benchmark on {figures['database']} {figures['database_version']}: {where}",
        f"{figures['krs']:,} KRs (depth 4), shared parent of {figures['children']} children, "
        f"{figures['periods']} weekly periods; medians of {figures['repetitions']} "
        f"(save {figures['save_queries']} queries, view {figures['view_queries']} queries)",
        f"{'':20} {'time':>12} {'floor':>10} {'ratio':>7} {'target':>8}  met",
    ]
    for name, time, floor, ratio, target, ok in rows:
        lines.append(
            f"{name:20} {time:>12} {floor:>10} {ratio:>7} {target:>8}  {'yes' if ok else 'NO'}"
        )
    return "\n".join(lines)


def profile() -> None:
    """Where one save, one view and one recompute spend their time (top functions)."""
    import cProfile
    import pstats

    from bench import rollup
    from bench.data import org_build

    bench = org_build(slug="bench-10k", krs=10_000)
    rollup.analyze()
    saver, show = rollup.Saver(bench), rollup.view(bench)
    for name, fn, times in (("save", saver, 30), ("view", show, 30)):
        for _ in range(rollup.WARMUPS):
            fn()
        profiler = cProfile.Profile()
        profiler.runcall(lambda fn=fn, times=times: [fn() for _ in range(times)])
        print(f"== {name} × {times}")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    profiler = cProfile.Profile()
    profiler.runcall(lambda: rollup.recompute_organization(org=bench.org, write=False))
    print("== recompute 10k")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def profile_tree(*, repeat: int = 3) -> None:
    """Python calls per request of the cycle tree page of 2,000 KRs and of its floor
    (`cycle_tree`, `floor_tree`), in this process through Django's test client, and
    where the page's time goes (cProfile; docs/performance.md, the cycle tree)."""
    import cProfile
    import pstats
    import time

    from django.test import Client

    from bench.tenants import tree_tenant

    tree = tree_tenant()
    client = Client()
    if not client.login(username=tree.username, password=tree.password):
        raise RuntimeError(f"no login for {tree.username}")
    pages = {
        "floor_tree": f"/bench/o/{tree.slug}/tree/{tree.cycle}/",
        "cycle_tree": f"/o/{tree.slug}/cycles/{tree.cycle}/",
    }
    calls = {}
    for name, path in pages.items():

        def get(path=path):
            response = client.get(path, secure=True, HTTP_HOST="127.0.0.1")
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code}")
            return response

        size = len(get().content)  # warm
        started = time.perf_counter()
        for _ in range(repeat):
            get()
        wall_ms = (time.perf_counter() - started) / repeat * 1000
        profiler = cProfile.Profile()
        profiler.runcall(lambda get=get: [get() for _ in range(repeat)])
        stats = pstats.Stats(profiler)
        calls[name] = stats.total_calls // repeat
        print(
            f"== {name}: {calls[name]:,} calls per request, {wall_ms:,.0f} ms unprofiled, "
            f"{size:,} bytes of HTML"
        )
        if name == "cycle_tree":
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
    print(f"calls ratio floor / page: {calls['floor_tree'] / calls['cycle_tree']:.3f}")


# The HTTP benchmark's two databases (created and dropped by it); other names let two
# runs share a server.
HTTP_DB = os.environ.get("OKRPLAN_BENCH_HTTP_DB", "okrplan_http")
TENANTS_DB = os.environ.get("OKRPLAN_BENCH_TENANTS_DB", "okrplan_tenants")
SVG = ROOT / "docs" / "http.svg"


def _pg_admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(_pg_url(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _use_database(name: str) -> None:
    from django.db import connection, connections

    connections.close_all()
    connection.settings_dict["NAME"] = name


def _tenant_in(name: str, *, others: int) -> "object":
    """Build `others` generated organizations and then the measured one in database `name`."""
    import time

    from django.core.management import call_command
    from django.db import connection

    from bench.tenants import bench_tenant, tenants_build
    from hierarchy.models import Organization
    from okrplan.lib import tenancy
    from plans.recompute import recompute_organization

    _use_database(name)
    started = time.perf_counter()
    for start in range(0, others, 250):
        tenants_build(prefix=f"t{start // 250}", count=min(250, others - start))
    tenant = bench_tenant()
    built_s = time.perf_counter() - started
    with tenancy.owner(), connection.cursor() as cursor:  # the tables' owner may
        cursor.execute("VACUUM ANALYZE")
    report = recompute_organization(org=Organization.objects.get(slug=tenant.slug), write=False)
    if report.mismatches:
        raise RuntimeError(f"stored aggregates of {tenant.slug} are wrong: {report.mismatches[:3]}")
    call_command("recompute", "--org", tenant.slug, "--verify", verbosity=0)
    return tenant, round(built_s, 1)


def _tree_in(name: str):
    """The cycle tree's organization (bench/tenants.py::tree_tenant) in database `name`."""
    from django.db import connection

    from bench.tenants import tree_tenant
    from okrplan.lib import tenancy

    _use_database(name)
    tree = tree_tenant()
    with tenancy.owner(), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return tree


def _session_for(tenant) -> str:
    """A session of the tenant's admin in the current database (for the query counts)."""
    from django.test import Client

    client = Client()
    if not client.login(username=tenant.username, password=tenant.password):
        raise RuntimeError(f"no login for {tenant.username}")
    return client.cookies["sessionid"].value


def _table_rows() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE n_live_tup > 0"
            " ORDER BY relname"
        )
        return dict(cursor.fetchall())


def http_main(args) -> None:
    """The HTTP benchmark (bench/http_load.py) on one tenant, then on many (bench/tenants.py)."""
    from bench import http_load as http

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("HTTP benchmark skipped: it needs DATABASE_URL of a PostgreSQL server.")
        return
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    _pg_admin(url, *(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in (HTTP_DB, TENANTS_DB)))
    _pg_admin(url, f'CREATE DATABASE "{HTTP_DB}"')
    os.environ["DATABASE_URL"] = _pg_url(url, HTTP_DB)
    os.environ["OKRPLAN_BENCH_URLS"] = "1"  # the floors, for the query counts made here
    os.environ["SECRET_KEY"] = http.SECRET  # the server's: its session cookie is read here
    try:
        setup()  # migrates okrplan_http
        _close_connections()
        if args.tenants and not args.only_tree:
            _pg_admin(url, f'CREATE DATABASE "{TENANTS_DB}" TEMPLATE "{HTTP_DB}"')
        tenant, _ = _tenant_in(HTTP_DB, others=0)
        tree = _tree_in(HTTP_DB)
        options = dict(
            redis_url=redis_url, seconds=args.seconds, rounds=args.rounds,
            worker_class=args.worker_class, threads=args.threads,
        )  # fmt: skip
        soak = {"soak_requests": args.soak}
        if args.only_tree:  # the cycle tree and its floor alone: printed, not kept
            one = http.measure(
                database_url=_pg_url(url, HTTP_DB), tenant=tenant, tree=tree, only_tree=True,
                soak_requests=0, **options,
            )  # fmt: skip
            print(http_report(one))
            return
        if not args.only_tenants:
            one = http.measure(
                database_url=_pg_url(url, HTTP_DB), tenant=tenant, tree=tree, **options, **soak
            )
            one.update(database())
            one["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            results_merge("http", one)
            SVG.write_text(http.svg(one, f"okrplan under gunicorn ({one['measured_at'][:10]})"))
            print(http_report(one))
        if not args.tenants:
            return
        many_tenant, built_s = _tenant_in(TENANTS_DB, others=args.tenants)
        rows = _table_rows()
        many_queries = http.query_counts(many_tenant, _session_for(many_tenant))
        _use_database(HTTP_DB)
        one_queries = http.query_counts(tenant, _session_for(tenant))
        from django.db import connections

        connections.settings["many"] = {**connections.settings["default"], "NAME": TENANTS_DB}
        side = http.compare(
            targets={
                "one": (_pg_url(url, HTTP_DB), tenant, "default", one_queries),
                "many": (_pg_url(url, TENANTS_DB), many_tenant, "many", many_queries),
            },
            **options,
        )
        connections["many"].close()
        figures = tenants_figures(
            side["one"], side["many"], orgs=args.tenants + 1, built_s=built_s, rows=rows
        )
        results_merge("tenants", figures)
        print(tenants_report(figures))
    finally:
        _close_connections()
        _pg_admin(
            url, *(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in (HTTP_DB, TENANTS_DB))
        )
        os.environ["DATABASE_URL"] = url


def tenants_figures(one: dict, many: dict, *, orgs: int, built_s: float, rows: dict) -> dict:
    from bench.http_load import KINDS

    kinds = {}
    for kind in (*KINDS, *KINDS.values()):
        kinds[kind] = {
            "one_tenant_rps": one[kind]["rps"],
            "many_tenants_rps": many[kind]["rps"],
            "cost_ratio": round(one[kind]["rps"] / many[kind]["rps"], 3),
            "one_tenant_p50_ms": one[kind]["p50_ms"],
            "many_tenants_p50_ms": many[kind]["p50_ms"],
            "many_tenants_p99_ms": many[kind]["p99_ms"],
            "queries": many[kind].get("queries"),
        }
    for kind, floor in KINDS.items():
        # The same against the floors of the same run: what remains when the machine's
        # speed drifted between the two runs.
        kinds[kind]["cost_ratio_to_floors"] = round(
            kinds[kind]["cost_ratio"] / kinds[floor]["cost_ratio"], 3
        )
    worst = max(kinds[k]["cost_ratio"] for k in KINDS)
    return {
        "organizations": orgs,
        "rows": rows,
        "build_s": built_s,
        **kinds,
        "worst_cost_ratio": worst,
        "target_cost_ratio": 1.2,
        "met": worst <= 1.2,
        "load_average": [many["load_average_before"], many["load_average_after"]],
        "runs": "both databases' servers side by side, their runs in alternation",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def http_report(f: dict) -> str:
    from bench.http_load import KINDS, TREE_KINDS

    lines = [
        f"HTTP benchmark: gunicorn {f['server']['gunicorn_workers']} × "
        f"{f['server']['worker_class']} ({f['server']['threads']} threads), "
        f"{f['connections']} connections ({f.get('tree_connections', '-')} for the tree), "
        f"{f['rounds']} × {f['seconds']} s per kind; "
        f"load average {f['load_average_before']} → {f['load_average_after']}",
        f"{'':16} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8} {'ratio':>7}",
    ]
    for kind in [k for pair in (*KINDS.items(), *TREE_KINDS.items()) for k in pair if k in f]:
        x = f[kind]
        ratio = f"{x['ratio_to_floor']:.2f}" if "ratio_to_floor" in x else ""
        lines.append(
            f"{kind:16} {x['rps']:>8.1f} {x['p50_ms']:>8.2f} {x['p99_ms']:>8.2f} "
            f"{x.get('queries', ''):>8} {ratio:>7}"
        )
    if "memory" in f:
        m = f["memory"]
        lines.append(
            f"memory: {m['requests']} requests, worker RSS {m['rss_before_kb']} → "
            f"{m['rss_after_kb']} kB"
        )
    lines.append(f"errors: {f['errors']}; targets met: {f['met']}")
    return "\n".join(lines)


def tenants_report(f: dict) -> str:
    lines = [f"Many tenants: {f['organizations']} organizations (built in {f['build_s']} s)"]
    for kind in ("plan_save", "combined_view", "org_home"):
        x = f[kind]
        lines.append(
            f"{kind:16} one {x['one_tenant_rps']:>7.1f}/s  many {x['many_tenants_rps']:>7.1f}/s  "
            f"cost ×{x['cost_ratio']:.2f}"
        )
    lines.append(
        f"worst ×{f['worst_cost_ratio']} (target ≤ 1.2): {'met' if f['met'] else 'NOT met'}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="profile instead of timing")
    parser.add_argument("--http", action="store_true", help="only the HTTP benchmark")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP benchmark")
    parser.add_argument(
        "--only-recompute",
        action="store_true",
        help="only the full recompute of 10,000 and 20,000 KRs (prints, writes no results)",
    )
    parser.add_argument("--seconds", type=int, default=8, help="HTTP: seconds per run")
    parser.add_argument("--rounds", type=int, default=2, help="HTTP: runs of each kind")
    parser.add_argument(
        "--tenants", type=int, default=1000, help="HTTP: other organizations (0: skip)"
    )
    parser.add_argument(
        "--soak", type=int, default=10_000, help="HTTP: requests of the memory soak (0: none)"
    )
    parser.add_argument(
        "--only-tenants", action="store_true", help="HTTP: only the many-tenants comparison"
    )
    parser.add_argument(
        "--only-tree",
        action="store_true",
        help="HTTP: only the cycle tree and its floor, one tenant, no soak (printed, not kept)",
    )
    parser.add_argument(
        "--profile-tree",
        action="store_true",
        help="Python calls per request of the cycle tree page and its floor (cProfile)",
    )
    parser.add_argument(
        "--worker-class", default="sync", choices=["sync", "gthread"], help="HTTP: gunicorn's"
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="HTTP: threads of a gthread worker (4)"
    )
    parser.add_argument("--recompute", metavar="SLUG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench import CHILD_ENV

    if args.http:
        http_main(args)
        return

    if args.recompute:  # a child of the benchmark, on the benchmark's database
        if not os.environ.get(CHILD_ENV):
            parser.error("--recompute is run by the benchmark itself")
        setup(migrate=False)
        from bench import rollup

        print(json.dumps(rollup.recompute_times(args.recompute)))
        return
    if args.profile_tree:
        os.environ["OKRPLAN_BENCH_URLS"] = "1"  # the tree's floor
    with bench_database() as where:
        print(f"Database: {where}", flush=True)
        setup()
        if args.profile_tree:
            profile_tree()
            return
        if args.profile:
            profile()
            return
        from bench import deadlines, rollup

        if args.only_recompute:
            print(json.dumps(rollup.measure_recompute(), indent=1))
            return

        figures = {**database(), **rollup.measure()}
        figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        scan = {**database(), **deadlines.measure()}
    results_merge("rollup", figures)
    results_merge("deadlines", scan)
    print(report(figures, where))
    print(
        f"deadline scan: {scan['steps']:,} open steps, {scan['due']:,} due: "
        f"{scan['scan_100k_s']} s (target ≤ 10 s) in {scan['batches']} batches of "
        f"{scan['batch_size']}, {scan['queries_per_batch']} queries per batch"
    )
    print(f"Written to {RESULTS.relative_to(ROOT)} under 'rollup' and 'deadlines'.")
    if not args.no_http:  # in a process of its own: its own databases and settings
        subprocess.run([sys.executable, __file__, "--http", *sys.argv[1:]], check=True)


if __name__ == "__main__":
    main()
