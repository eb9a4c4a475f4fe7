"""The HTTP benchmark: okrplan under gunicorn, loaded by wrk from a second process.

The server is the production one (`DEBUG=0`, whitenoise, the settings of
docker-compose's `web`): gunicorn with 2 workers (`WORKER_CLASS`, see
docs/performance.md for the choice), on a PostgreSQL database of the benchmark's own
and Redis as the broker, plus the floor endpoints of `bench/urls.py`
(`OKRPLAN_BENCH_URLS=1`). Requests carry `X-Forwarded-Proto: https`, as from the TLS
load balancer production runs behind. wrk (Debian's package) opens `CONNECTIONS`
connections, one per thread, and `bench/wrk.lua` makes the requests:

- `plan_save`: `PUT /api/v1/orgs/{org}/krs/{id}/plan/` of a child of the shared KR, each
  connection its own child, each request a real change with the current version (read
  from the previous response); next to `floor_write`, a token-authenticated PUT of the
  same body that updates one row in a transaction.
- `combined_view`: `GET /api/v1/orgs/{org}/krs/{id}/alignment/` of the shared KR (20
  children); next to `floor_read`, a token-authenticated GET doing one indexed read.
- `org_home`: the organization's home page `/o/{org}/` with the session cookie of a real
  login; next to `floor_page`, a session-authenticated page doing one indexed read.
- `cycle_tree`: the cycle tree page `/o/{org}/cycles/{id}/` of a cycle of 2,000 KRs (an
  organization of its own, `bench/tenants.py::tree_tenant`), its admin's session; next
  to `floor_tree`, a session-authenticated page reading the same KRs in one query and
  rendering them with a bare template. A page of seconds: for both, `TREE_CONNECTIONS`
  connections (one per worker) rather than `CONNECTIONS`, so that requests do not queue
  behind each other past wrk's timeout (60 s for these, 10 s for the others), runs
  `TREE_STRETCH` times as long, and a pause after each run until the pages in flight
  are done.

Each floor runs right before its request kind, for `seconds` each, `rounds` times
(medians reported), after a warm-up of every kind. Then the memory soak: the workers'
RSS (from /proc) before and after 10,000 more requests of the three kinds in turn.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from bench.tenants import BenchTenant, TreeTenant

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk.lua")
CONNECTIONS = 8
WORKERS = 2
WORKER_CLASS = "sync"  # measured against gthread: docs/performance.md, "Why sync"
THREADS = 1
SOAK_REQUESTS = 10_000
TARGETS = {
    "plan_save_ratio": 0.3,
    "combined_view_ratio": 0.3,
    "p99_ms": 100,
    "cycle_tree_ratio": 0.5,
}
# Each request kind and the floor it is measured against.
KINDS = {"plan_save": "floor_write", "combined_view": "floor_read", "org_home": "floor_page"}
# The cycle tree of 2,000 KRs: on the one-tenant server only (the many-tenants comparison
# and the p99 target are the three kinds above).
TREE_KINDS = {"cycle_tree": "floor_tree"}
TREE_CONNECTIONS = WORKERS
TREE_STRETCH = 3  # runs of 3 × `seconds`: a few dozen pages each
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    port: int
    process: subprocess.Popen
    worker_class: str
    threads: int

    def worker_pids(self) -> list[int]:
        master = self.process.pid
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:  # field 4: ppid
                pids.append(int(entry.name))
        return sorted(pids)

    def rss_kb(self) -> dict[int, int]:
        out = {}
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            out[pid] = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CACHE_DB = 12  # the web processes' cache, beside the broker's database


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def server_env(database_url: str, redis_url: str) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "SQLITE_PATH")
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        # As in production (docker-compose.yml): a shared cache, and sessions read from it.
        CACHE_URL=_redis_db(redis_url, CACHE_DB),
        OKRPLAN_BENCH_URLS="1",
        LOG_LEVEL="WARNING",
        OKRPLAN_VAR_DIR=tempfile.mkdtemp(prefix="okrplan-http-var-"),
    )
    return env


def collectstatic(env: dict) -> None:
    """The manifest whitenoise serves from (as the Dockerfile does)."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


@contextmanager
def server(
    database_url: str, redis_url: str, *, worker_class: str = WORKER_CLASS, threads: int = THREADS
) -> Iterator[Server]:
    if worker_class == "sync":
        threads = 1  # gunicorn turns a sync worker with threads into gthread
    env = server_env(database_url, redis_url)
    collectstatic(env)
    port = _free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (the server's lifetime, closed below)
        prefix="okrplan-gunicorn-", suffix=".log", delete=False
    )
    command = [
        sys.executable, "-m", "gunicorn", "okrplan.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS),
        "--worker-class", worker_class, "--threads", str(threads),
        "--log-level", "warning", "--graceful-timeout", "5",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    srv = Server(f"http://127.0.0.1:{port}", port, process, worker_class, threads)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped:\n{Path(log.name).read_text()[-3000:]}")
            try:
                status, _, _ = _request(srv, "GET", "/healthz")
                if status == 200 and len(srv.worker_pids()) == WORKERS:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.3)
        yield srv
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(env["OKRPLAN_VAR_DIR"], ignore_errors=True)
        log.close()
        errors = Path(log.name).read_text()
        os.unlink(log.name)
        if "Traceback" in errors:
            print(f"gunicorn logged errors:\n{errors[-3000:]}", file=sys.stderr)


def _request(srv: Server, method: str, path: str, body: str | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.request(
            method, path, body=body, headers={"X-Forwarded-Proto": "https", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def _cookies(headers) -> dict[str, str]:
    out = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            out[key] = rest.split(";", 1)[0]
    return out


def session_login(srv: Server, tenant: "BenchTenant") -> str:
    """Log in through the real login form; the session cookie's value."""
    status, headers, page = _request(srv, "GET", "/accounts/login/")
    csrf = _cookies(headers)["csrftoken"]
    form_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    body = urlencode(
        {
            "username": tenant.username,
            "password": tenant.password,
            "csrfmiddlewaretoken": form_token,
        }
    )
    status, headers, _ = _request(
        srv,
        "POST",
        "/accounts/login/",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Origin": f"https://127.0.0.1:{srv.port}",
            "Referer": f"https://127.0.0.1:{srv.port}/accounts/login/",
        },
    )
    session = _cookies(headers).get("sessionid")
    if status != 302 or not session:
        raise RuntimeError(f"login failed: {status}")
    return session


def _lua(value) -> str:
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"[{json.dumps(str(k))}] = {_lua(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


@dataclass
class Load:
    """Drives wrk against one server and one tenant."""

    srv: Server
    tenant: "BenchTenant"
    session: str
    alias: str = "default"  # the Django database alias of the server's database
    tree: "TreeTenant | None" = None  # the cycle tree's organization, and its session
    tree_session: str = ""

    def config(self, kind: str) -> dict:
        from plans.models import Plan

        t = self.tenant
        api = f"/api/v1/orgs/{t.slug}"
        savers = t.children[:CONNECTIONS]
        if kind == "floor_write":
            savers = t.children[CONNECTIONS : 2 * CONNECTIONS]
        plans = {p.kr_id: p for p in Plan.objects.using(self.alias).filter(kr_id__in=savers)}
        connections = [
            {
                "kr": kr,
                "version": plans[kr].version,
                "values": [int(float(v)) for v in plans[kr].values_json],
            }
            for kr in savers
        ]
        token = {"Authorization": f"Token {t.token}", "X-Forwarded-Proto": "https"}
        page = {"Cookie": f"sessionid={self.session}", "X-Forwarded-Proto": "https"}
        paths = {
            "floor_read": (f"/bench/orgs/{t.slug}/read/{t.shared_kr}/", token),
            "combined_view": (f"{api}/krs/{t.shared_kr}/alignment/", token),
            "floor_page": (f"/bench/o/{t.slug}/page/{t.shared_kr}/", page),
            "org_home": (f"/o/{t.slug}/", page),
        }
        if self.tree is not None:
            tree = {"Cookie": f"sessionid={self.tree_session}", "X-Forwarded-Proto": "https"}
            paths["cycle_tree"] = (f"/o/{self.tree.slug}/cycles/{self.tree.cycle}/", tree)
            paths["floor_tree"] = (f"/bench/o/{self.tree.slug}/tree/{self.tree.cycle}/", tree)
        lua_kind = {"plan_save": "plan", "floor_write": "floor_write"}.get(kind, "get")
        path, headers = paths.get(kind, ("", token))
        return {
            "kind": lua_kind,
            "path": path,
            "headers": headers,
            "page_headers": page,
            "plan_path": f"{api}/krs/%d/plan/",
            "floor_write_path": f"/bench/orgs/{t.slug}/write/%d/",
            "alignment_path": paths["combined_view"][0],
            "page_path": paths["org_home"][0],
            "connections": connections,
        }

    def run(self, kind: str, *, seconds: float) -> dict:
        config = self.config(kind)
        if kind == "mix":
            config["kind"] = "mix"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write("return " + _lua(config) + "\n")
        tree = kind in (*TREE_KINDS, *TREE_KINDS.values())
        connections = TREE_CONNECTIONS if tree else CONNECTIONS
        timeout = 10
        if tree:
            seconds *= TREE_STRETCH
            timeout = 60  # a page of seconds, of ten on a loaded machine
        try:
            out = subprocess.run(
                [
                    "wrk", "-t", str(connections), "-c", str(connections),
                    "-d", f"{max(1, round(seconds))}s", "--timeout", f"{timeout}s",
                    "-s", str(LUA), self.srv.base + "/",
                ],
                env={**os.environ, "OKRPLAN_WRK_CONFIG": f.name},
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            )  # fmt: skip
        finally:
            os.unlink(f.name)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("OKRPLAN_WRK ")), None)
        if out.returncode or line is None:
            raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        raw = json.loads(line.removeprefix("OKRPLAN_WRK "))
        # wrk stops at its deadline with requests in flight: let the server finish them
        # before the next run reads the plans' versions (else its first save is stale),
        # and, for the tree's pages of seconds, before the next kind is timed.
        time.sleep(1 + ((raw["max_us"] / 1e6 or seconds) if tree else 0))
        print(f"  {kind:14} {seconds:>3} s: {raw['requests']:>6} requests", flush=True)
        seconds_run = raw["duration_us"] / 1e6
        errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
        return {
            "requests": raw["requests"],
            "rps": raw["requests"] / seconds_run,
            "p50_ms": raw["p50_us"] / 1000,
            "p90_ms": raw["p90_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "max_ms": raw["max_us"] / 1000,
            "non_2xx": raw["non_2xx"],
            "socket_errors": errors,
        }


def query_counts(
    tenant: "BenchTenant", session: str, tree: "TreeTenant | None" = None, tree_session: str = ""
) -> dict[str, int]:
    """Statements per request of each kind, counted in this process through Django's
    test client against the same database (untimed); with `tree`, of the cycle tree's
    kinds too."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from plans.models import Plan

    api = f"/api/v1/orgs/{tenant.slug}"
    kr = tenant.children[-1]  # never saved by the load
    plan = Plan.objects.get(kr_id=kr)
    values = [int(float(v)) + 1 for v in plan.values_json]
    token = {"HTTP_AUTHORIZATION": f"Token {tenant.token}", "HTTP_HOST": "127.0.0.1"}
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = session
    requests = {
        "plan_save": lambda: client.put(
            f"{api}/krs/{kr}/plan/",
            json.dumps({"values": values, "version": plan.version, "rationale": "bench"}),
            content_type="application/json",
            secure=True,
            **token,
        ),
        "floor_write": lambda: client.put(
            f"/bench/orgs/{tenant.slug}/write/{kr}/",
            json.dumps({"values": values}),
            content_type="application/json",
            secure=True,
            **token,
        ),
        "combined_view": lambda: client.get(
            f"{api}/krs/{tenant.shared_kr}/alignment/", secure=True, **token
        ),
        "floor_read": lambda: client.get(
            f"/bench/orgs/{tenant.slug}/read/{tenant.shared_kr}/", secure=True, **token
        ),
        "org_home": lambda: client.get(f"/o/{tenant.slug}/", secure=True, HTTP_HOST="127.0.0.1"),
        "floor_page": lambda: client.get(
            f"/bench/o/{tenant.slug}/page/{tenant.shared_kr}/", secure=True, HTTP_HOST="127.0.0.1"
        ),
    }
    if tree is not None:
        tree_client = Client()
        tree_client.cookies["sessionid"] = tree_session
        requests["cycle_tree"] = lambda: tree_client.get(
            f"/o/{tree.slug}/cycles/{tree.cycle}/", secure=True, HTTP_HOST="127.0.0.1"
        )
        requests["floor_tree"] = lambda: tree_client.get(
            f"/bench/o/{tree.slug}/tree/{tree.cycle}/", secure=True, HTTP_HOST="127.0.0.1"
        )
    counts = {}
    for name, call in requests.items():
        with CaptureQueriesContext(connection) as queries:
            response = call()
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} {response.content[:300]!r}")
        counts[name] = len(queries)
    return counts


def _median_run(runs: list[dict]) -> dict:
    return {
        "rps": round(statistics.median(r["rps"] for r in runs), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
        "requests": sum(r["requests"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "runs": [{k: round(v, 2) for k, v in r.items()} for r in runs],
    }


def measure_load(
    load: Load, *, seconds: float, rounds: int, warmup: float = 2, kinds: dict = KINDS
) -> dict:
    """Every request kind next to its floor: rps, p50, p99 and the throughput ratio."""
    return measure_loads({"one": load}, seconds=seconds, rounds=rounds, warmup=warmup, kinds=kinds)[
        "one"
    ]


def measure_loads(
    loads: dict[str, Load], *, seconds: float, rounds: int, warmup: float = 2, kinds: dict = KINDS
) -> dict[str, dict]:
    """`measure_load` of several servers at once, their runs in alternation: each
    floor, then its kind, on each server in turn, so that a change of the machine's
    speed weighs on all of them alike."""
    for load in loads.values():
        for kind in (*kinds.values(), *kinds):
            load.run(kind, seconds=warmup)
    runs = {name: {k: [] for pair in kinds.items() for k in pair} for name in loads}
    for _ in range(rounds):
        for kind, floor in kinds.items():
            for name, load in loads.items():
                runs[name][floor].append(load.run(floor, seconds=seconds))
                runs[name][kind].append(load.run(kind, seconds=seconds))
    out = {}
    for name in loads:
        figures = {kind: _median_run(r) for kind, r in runs[name].items()}
        for kind, floor in kinds.items():
            figures[kind]["floor"] = floor
            ratio = figures[kind]["rps"] / figures[floor]["rps"]
            figures[kind]["ratio_to_floor"] = round(ratio, 3)
        out[name] = figures
    return out


def compare(
    *,
    targets: dict[str, tuple[str, "BenchTenant", str, dict[str, int]]],
    redis_url: str,
    seconds: float,
    rounds: int,
    worker_class: str = WORKER_CLASS,
    threads: int = THREADS,
) -> dict[str, dict]:
    """The servers of several databases side by side, measured in alternation.
    `targets`: name → (database URL, tenant, Django alias, statements per request)."""
    load_before = load_average()
    with ExitStack() as stack:
        loads = {}
        for name, (url, tenant, alias, _) in targets.items():
            srv = stack.enter_context(
                server(url, redis_url, worker_class=worker_class, threads=threads)
            )
            loads[name] = Load(srv, tenant, session_login(srv, tenant), alias)
        out = measure_loads(loads, seconds=seconds, rounds=rounds)
    for name, (_, _, _, queries) in targets.items():
        for kind, count in queries.items():
            out[name][kind]["queries"] = count
        out[name]["load_average_before"] = load_before
        out[name]["load_average_after"] = load_average()
    return out


def soak(load: Load, *, total: int = SOAK_REQUESTS, chunk_seconds: int = 10) -> dict:
    """Workers' RSS before and after `SOAK_REQUESTS` requests of the three kinds in turn
    (runs of `chunk_seconds` until that many have been answered; wrk itself has no
    request count)."""
    before = load.srv.rss_kb()
    requests = non_2xx = runs = 0
    while requests < total and runs < 100:
        run = load.run("mix", seconds=chunk_seconds)
        requests, non_2xx, runs = requests + run["requests"], non_2xx + run["non_2xx"], runs + 1
    after = load.srv.rss_kb()
    return {
        "requests": requests,
        "non_2xx": non_2xx,
        "rss_before_kb": list(before.values()),
        "rss_after_kb": list(after.values()),
        "rss_growth_kb": [after.get(pid, 0) - rss for pid, rss in before.items()],
        "same_workers": sorted(before) == sorted(after),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(
    *,
    database_url: str,
    redis_url: str,
    tenant: "BenchTenant",
    seconds: float,
    rounds: int,
    tree: "TreeTenant | None" = None,
    soak_requests: int = SOAK_REQUESTS,
    worker_class: str = WORKER_CLASS,
    threads: int = THREADS,
    only_tree: bool = False,
) -> dict:
    """Start the server on `database_url`, load it, stop it; the figures. `only_tree`:
    the cycle tree and its floor alone (`bench/run.py --http --only-tree`)."""
    load_before = load_average()
    with server(database_url, redis_url, worker_class=worker_class, threads=threads) as srv:
        session = session_login(srv, tenant)
        tree_session = session_login(srv, tree) if tree is not None else ""
        # first: a broken request stops the run early
        queries = query_counts(tenant, session, tree, tree_session)
        load = Load(srv, tenant, session, tree=tree, tree_session=tree_session)
        kinds = {**({} if only_tree else KINDS), **(TREE_KINDS if tree is not None else {})}
        figures = measure_load(load, seconds=seconds, rounds=rounds, kinds=kinds)
        memory_figures = soak(load, total=soak_requests) if soak_requests else None
    for kind, count in queries.items():
        if kind in figures:
            figures[kind]["queries"] = count
    met = {}
    if not only_tree:
        p99 = max(figures[k]["p99_ms"] for k in KINDS)
        met = {
            "plan_save_ratio": figures["plan_save"]["ratio_to_floor"] >= TARGETS["plan_save_ratio"],
            "combined_view_ratio": figures["combined_view"]["ratio_to_floor"]
            >= TARGETS["combined_view_ratio"],
            "p99_ms": p99 <= TARGETS["p99_ms"],
        }
    if tree is not None:
        figures["cycle_tree"]["krs"] = tree.krs
        met["cycle_tree_ratio"] = (
            figures["cycle_tree"]["ratio_to_floor"] >= TARGETS["cycle_tree_ratio"]
        )
    errors = sum(figures[k]["non_2xx"] + figures[k]["socket_errors"] for k in figures)
    errors += memory_figures["non_2xx"] if memory_figures else 0
    return {
        **figures,
        **({"memory": memory_figures} if memory_figures else {}),
        "server": {
            "gunicorn_workers": WORKERS,
            "worker_class": srv.worker_class,
            "threads": srv.threads,
            "debug": False,
        },
        "connections": CONNECTIONS,
        **({"tree_connections": TREE_CONNECTIONS} if tree is not None else {}),
        "seconds": seconds,
        "rounds": rounds,
        "errors": errors,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "cpus": os.cpu_count(),
        "targets": TARGETS,
        "met": met,
    }


LABELS = {
    "plan_save": "PUT plan (save)",
    "floor_write": "floor: 1-row update",
    "combined_view": "GET alignment",
    "floor_read": "floor: indexed read",
    "org_home": "org home page",
    "floor_page": "floor: session page",
    "cycle_tree": "cycle tree, 2,000 KRs",
    "floor_tree": "floor: bare tree rows",
}


def svg(figures: dict, title: str) -> str:
    """A bar chart of requests per second (floors lighter), p50 / p99 written beside."""
    order = ["floor_write", "plan_save", "floor_read", "combined_view", "floor_page", "org_home"]
    order += [k for k in ("floor_tree", "cycle_tree") if k in figures]
    top = max(figures[k]["rps"] for k in order)
    width, left, bar_w, row = 900, 170, 420, 34
    height = 60 + row * len(order) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{title}</text>',
        '<text x="10" y="42" fill="#555">requests per second under '
        f"{CONNECTIONS} connections; p50 / p99 latency; × = throughput ratio to the floor</text>",
        f'<text x="10" y="{height - 12}" fill="#555">{figures["cpus"]} cores, load average '
        f"{figures['load_average_before'][0]} before the run (other work on the machine "
        "counts)</text>",
    ]
    for i, kind in enumerate(order):
        f = figures[kind]
        y = 60 + i * row
        w = max(1, round(bar_w * f["rps"] / top))
        color = "#b8c7e0" if kind.startswith("floor") else "#2f5d9e"
        ratio = f" ×{f['ratio_to_floor']:.2f}" if "ratio_to_floor" in f else ""
        parts += [
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{LABELS[kind]}</text>',
            f'<rect x="{left}" y="{y + 4}" width="{w}" height="20" fill="{color}"/>',
            f'<text x="{left + w + 6}" y="{y + 18}">{f["rps"]:.0f}/s{ratio}  '
            f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms</text>",
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
