"""Fault drills (issue 8): `make drill` (or `.venv/bin/python bench/drill.py`).

Everything runs on this machine against servers of the drill's own, never the shared
ones: a throwaway PostgreSQL cluster (`initdb` into a temporary folder, `pg_ctl` on a
free port; as root through `runuser -u postgres`), a `redis-server` on a free port
without persistence, gunicorn (2 workers, as `bench/http_load.py` starts it, DEBUG=0)
and a real Celery worker with beat (`tests/workers.py`, the deadline scan every
`SCAN_SECONDS`, e-mail written to files). The data is the HTTP benchmark's tenant
(`bench/tenants.py`).

1. `database`: PostgreSQL restarted under HTTP load. Threads save their own child plan
   (each save the current version, a real change) and read the combined view for
   `seconds`; in the middle the cluster is restarted (`pg_ctl restart -m fast`), later
   stopped for `STOP_SECONDS` and started again. Every request's outcome is recorded.
   Pass: only 200, the 409s a save after an unacknowledged commit gets, and 503 with
   Retry-After; no 500, no connection error; once a save is answered 200 after an
   outage, no 503 until the next one; the same gunicorn workers answer before and after
   (no restart); every save answered 200 is a stored revision; the stored
   aggregates equal a full `recompute --verify`; the Celery worker is still running.
2. `redis`: Redis stopped while plans are saved. The saves (children of a locked shared
   KR whose rule notifies on every change) answer 200 and record their notifications;
   none is e-mailed while Redis is down; once it is back, the worker (which survived)
   e-mails every one of them.
3. `worker_kill`: twice, while the worker e-mails `KILL_NOTIFICATIONS` pending
   notifications: its pool process SIGKILLed (the task must be redelivered: received
   twice, then succeeded), then the whole worker (main process, pool, beat) SIGKILLed
   and started again. Every notification is then e-mailed: none lost, at most one
   duplicate (the e-mail between sending and marking at the kill).

4. `poisoned`: a message Django refuses (a recipient with a line break, written straight
   to the database) in the middle of `POISON_MESSAGES` - 1 others of several
   organizations, e-mailed by a real worker: every other one delivered once, the
   poisoned one marked failed with its reason, nothing sent again by later scans.
5. `webhook_down`: a webhook's receiver (tests/receiver.py, on 127.0.0.1) is down
   (its port closed) for `WEBHOOK_DOWN_SECONDS` while `WEBHOOK_SAVES` modifications of
   locked plans are saved (each a `plan.modified` event, the first a `round.opened` and a
   `threshold.crossed` too); a second webhook's receiver is up all along. The worker
   retries on a compressed schedule (`WEBHOOK_ENV`). Pass: once the receiver is back,
   every delivery recorded reaches it answered 2xx exactly once, with its body and a
   valid signature, none failed, nothing sent again by later sweeps; the other webhook's
   deliveries arrived while the first receiver was down (it held up nothing).

The figures and a pass/fail per drill go to `bench/drill.json` (`--only` replaces the
figures of the drills it runs and keeps the others'); the exit status is 1 when a drill
failed.
"""

import argparse
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "drill.json"
DB_NAME = "okrplan_drill"
SCAN_SECONDS = 2  # the worker's deadline scan (and e-mail sweep)
EMAIL_LEASE_SECONDS = 10  # a killed worker's claimed e-mail is retried after this
SAVERS = 6  # threads saving plans during the database drill
READERS = 2  # threads reading the combined view
STOP_SECONDS = 4  # how long the database stays stopped
REDIS_DOWN_SAVES = 12
KILL_NOTIFICATIONS = 1500
POISON_MESSAGES = 1000  # the poisoned one in the middle of the others
POISON_ORGS = 3
WEBHOOK_SAVES = 40
WEBHOOK_DOWN_SECONDS = 20
# Timeout 2 s, lease 5 s, a sweep every second, retries after 1, 2, 4, then 8 s (x9).
WEBHOOK_ENV = {
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_LEASE_SECONDS": "5",
    "WEBHOOK_SWEEP_SECONDS": "1",
    "WEBHOOK_RETRY_SECONDS": "1,2,4,8,8,8,8,8,8,8,8,8",
}
DRILLS = ("database", "redis", "worker_kill", "poisoned", "webhook_down")
CLIENT_PAUSE = 0.05  # a client's pause after a 503 or a connection error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- A PostgreSQL cluster of the drill's own -------------------------------------


def pg_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1].parent


@dataclass
class Cluster:
    folder: Path
    port: int
    bin: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, name: str = DB_NAME) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:  # initdb refuses to run as root; the cluster is postgres's
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
            "-o", options, "-m", "fast", "-w", *extra, action,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        """Fast shutdown: open sessions are terminated, their transactions rolled back."""
        self._ctl("stop")

    def restart(self) -> None:
        self._ctl("restart")


@contextmanager
def pg_cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="okrplan-drill-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(folder, free_port(), pg_bin())
    try:
        cluster._run(
            "initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        cluster.start()
        import psycopg

        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            cluster._run("pg_ctl", "-D", str(cluster.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


# --- A Redis server of the drill's own -------------------------------------------


@dataclass
class RedisServer:
    folder: Path
    port: int
    proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                "--logfile", str(self.folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    if not shutil.which("redis-server"):
        raise RuntimeError("the drill needs redis-server (Debian's redis-server package)")
    server = RedisServer(Path(tempfile.mkdtemp(prefix="okrplan-drill-redis-")), free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


# --- HTTP load that records every request's outcome ------------------------------


@dataclass
class Outcome:
    at: float  # seconds since the load started
    kind: str  # "save" or "read"
    status: int | None  # None: no HTTP answer
    error: str | None = None  # the exception's class when there was no answer
    retry_after: str | None = None
    kr: int | None = None
    version: int | None = None  # the version a 200 save answered
    done: float = 0.0  # seconds since the load started, when the answer (or error) came


@dataclass
class Load:
    """Threads over persistent connections (a new one after any error), as a client that
    retries quickly: after a 503 or an error it waits `CLIENT_PAUSE`, not Retry-After, so
    that the first request the service can answer again is seen."""

    port: int
    tenant: object  # bench.tenants.BenchTenant
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0

    def __post_init__(self):
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _headers(self) -> dict:
        return {"Authorization": f"Token {self.tenant.token}", "X-Forwarded-Proto": "https"}

    def _loop(self, kind: str, kr: int | None) -> None:
        t = self.tenant
        conn = None
        version = t.versions.get(kr)
        base = t.values.get(kr)
        turn = 0
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            turn += 1
            if kind == "save":
                delta = 1 if turn % 2 else -1
                body = json.dumps(
                    {"values": [v + delta for v in base], "version": version, "rationale": "drill"}
                )
                method, path = "PUT", f"/api/v1/orgs/{t.slug}/krs/{kr}/plan/"
                headers = {**self._headers(), "Content-Type": "application/json"}
            else:
                body, method = None, "GET"
                path, headers = (
                    f"/api/v1/orgs/{t.slug}/krs/{t.shared_kr}/alignment/",
                    self._headers(),
                )
            at = time.monotonic() - self.started
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.outcomes.append(
                    Outcome(at, kind, None, type(error).__name__, kr=kr, done=self.now())
                )
                conn.close()
                conn = None
                time.sleep(CLIENT_PAUSE)
                continue
            outcome = Outcome(
                at,
                kind,
                response.status,
                retry_after=response.getheader("Retry-After"),
                kr=kr,
                done=self.now(),
            )
            if kind == "save" and response.status in (200, 409):
                found = re.search(rb'"version":\s*(\d+)', content)
                if found:
                    version = int(found.group(1))
                    if response.status == 200:
                        outcome.version = version
            self.outcomes.append(outcome)
            if response.status >= 500:
                time.sleep(CLIENT_PAUSE)
            if response.will_close:
                conn.close()
                conn = None

    def start(self) -> None:
        self.started = time.monotonic()
        savers = self.tenant.children[:SAVERS]
        for kind, kr in [("save", kr) for kr in savers] + [("read", None)] * READERS:
            thread = threading.Thread(target=self._loop, args=(kind, kr), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def now(self) -> float:
        return time.monotonic() - self.started


def _label(o: Outcome) -> str:
    if o.status is None:
        return f"error:{o.error}"
    if o.status == 503:
        return "503" if o.retry_after else "503 without Retry-After"
    return str(o.status)


def outage_figures(
    outcomes: list[Outcome], began: float, back: float, until: float = float("inf")
) -> dict:
    """What the clients saw of one outage: from `began` (the stop or restart was asked
    for) to the first save answered 200 after `back` (pg_ctl said the server is ready);
    the time to the first 200s is counted from `back` to when they were answered.
    `until`: where the next outage begins."""

    def first_200(kind: str) -> float | None:
        return min(
            (o.done for o in outcomes if o.kind == kind and o.status == 200 and o.done >= back),
            default=None,
        )

    def late(since: float, until: float) -> int:
        return sum(1 for o in outcomes if o.status == 503 and o.at >= since and o.done < until)

    save, read = first_200("save"), first_200("read")
    end = save if save is not None else float("inf")
    during = Counter(_label(o) for o in outcomes if o.done >= began and o.at <= end)
    return {
        "began_at_s": round(began, 2),
        "database_back_at_s": round(back, 2),
        "database_away_s": round(back - began, 2),
        "first_200_save_after_s": None if save is None else round(save - back, 3),
        "first_200_read_after_s": None if read is None else round(read - back, 3),
        # 503s to requests sent after pg_ctl said ready, and after the first save was
        # answered 200 (a web thread's dead connection would show here: its health check
        # replaces it), answered before the next outage began
        "503_after_back": late(back, until),
        "503_after_first_200": late(end, until),
        "answers": dict(sorted(during.items())),
    }


# --- The drills --------------------------------------------------------------------


def _waited(predicate, seconds: float, *, what: str, **options) -> bool:
    """`tests.workers.wait_for`, but a drill goes on when it times out: False, and why."""
    from tests.workers import wait_for

    try:
        wait_for(predicate, seconds, what=what, **options)
    except AssertionError as error:
        print(f"  {error}"[:2000], flush=True)
        return False
    return True


def drill_database(*, srv, tenant, cluster: Cluster, worker, seconds: float) -> dict:
    from django.core.management import CommandError, call_command
    from django.db import connections

    from plans.models import PlanRevision

    pids_before = srv.worker_pids()
    load = Load(srv.port, tenant)
    restart_at, stop_at = seconds * 0.3, seconds * 0.6
    load.start()
    time.sleep(restart_at)
    began = load.now()
    cluster.restart()
    restarted = load.now()
    print(f"  {restarted:5.1f} s: PostgreSQL restarted ({restarted - began:.2f} s)", flush=True)
    time.sleep(max(0.0, stop_at - load.now()))
    stopped_at = load.now()
    cluster.stop()
    print(f"  {load.now():5.1f} s: PostgreSQL stopped", flush=True)
    time.sleep(STOP_SECONDS)
    cluster.start()
    started = load.now()
    print(f"  {started:5.1f} s: PostgreSQL started", flush=True)
    time.sleep(max(0.0, seconds - load.now()))
    load.stop()
    time.sleep(1)  # requests in flight at the stop finish
    outcomes = load.outcomes
    pids_after = srv.worker_pids()

    statuses = Counter(_label(o) for o in outcomes)
    allowed = {"200", "409", "503"}
    unexpected = {k: v for k, v in statuses.items() if k not in allowed}
    # Nothing lost: every version a save was answered 200 for is a stored revision.
    connections.close_all()  # this process's connection died with the restart
    answered: dict[int, set[int]] = {}
    for o in outcomes:
        if o.kind == "save" and o.status == 200:
            answered.setdefault(o.kr, set()).add(o.version)
    stored = {
        kr: set(PlanRevision.objects.filter(kr_id=kr).values_list("version", flat=True))
        for kr in tenant.children[:SAVERS]
    }
    lost = sum(len(versions - stored[kr]) for kr, versions in answered.items())
    saved_200 = sum(len(v) for v in answered.values())
    new_revisions = sum(len({v for v in stored[kr] if v > tenant.versions[kr]}) for kr in stored)
    out = io.StringIO()
    try:
        call_command("recompute", "--org", tenant.slug, "--verify", stdout=out)
        verified = True
    except CommandError as error:  # a stored aggregate differs from the recomputation
        print(f"  recompute --verify: {error}\n{out.getvalue()[:2000]}", flush=True)
        verified = False
    late_200 = any(o.status == 200 and o.at > started + 1 for o in outcomes)
    figures = {
        "seconds": round(load.now(), 1),
        "requests": len(outcomes),
        "answers": dict(sorted(statuses.items())),
        "unexpected_answers": unexpected,
        "restart": outage_figures(outcomes, began, restarted, until=stopped_at),
        "stop_start": outage_figures(outcomes, stopped_at, started),
        "saves_answered_200": saved_200,
        "revisions_written": new_revisions,
        "saves_200_without_revision": lost,
        # committed, but the answer was lost with the connection (a 503 or an error):
        # the client's next save with the old version gets the 409 that carries the new one
        "revisions_not_answered_200": new_revisions - saved_200,
        "recompute_verify": "ok" if verified else "MISMATCH",
        "gunicorn_workers_same": pids_before == pids_after,
        "celery_worker_running": worker.proc.poll() is None,
    }
    figures["passed"] = bool(
        not unexpected
        and lost == 0
        and verified
        and late_200
        and figures["gunicorn_workers_same"]
        and figures["celery_worker_running"]
        and all(
            figures[outage]["first_200_save_after_s"] is not None
            and figures[outage]["503_after_first_200"] == 0  # recovered, for every thread
            for outage in ("restart", "stop_start")
        )
    )
    return figures


def _notifying_parent(tenant):
    """A shared KR of the tenant (3 children) locked, owned by a lead and notifying its
    owner of every change: each save of a child by the admin records notifications."""
    from django.contrib.auth import get_user_model

    from hierarchy.models import KeyResult
    from notifications.services import rule_set
    from plans.services import plan_lock

    parent = (
        KeyResult.objects.filter(
            organization__slug=tenant.slug, parent__isnull=True, title="Shared KR 0"
        )
        .select_related("organization")
        .get()
    )
    owner = get_user_model().objects.get(username=f"{tenant.slug}-u4")
    KeyResult.objects.filter(pk=parent.pk).update(owner=owner)
    parent.refresh_from_db()
    admin = get_user_model().objects.get(username=tenant.username)
    rule_set(org=parent.organization, kr=parent, upward="notify", downward="notify")
    plan_lock(kr=parent, actor=admin)
    return parent


def _save(port: int, tenant, kr: int, values: list[int], version: int) -> tuple[int, dict, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    try:
        conn.request(
            "PUT",
            f"/api/v1/orgs/{tenant.slug}/krs/{kr}/plan/",
            body=json.dumps({"values": values, "version": version, "rationale": "drill"}),
            headers={
                "Authorization": f"Token {tenant.token}",
                "X-Forwarded-Proto": "https",
                "Content-Type": "application/json",
            },
        )
        response = conn.getresponse()
        body = json.loads(response.read() or b"{}")
        return response.status, body, time.monotonic() - started
    finally:
        conn.close()


def _mail_count(worker) -> int:
    """E-mails in the worker's mailbox (Django's file backend can append several to one
    file: its file name is the second and the backend object's id, which is reused)."""
    return len(worker.mailbox())


def _mailbox(workdir: Path) -> list:
    """The mailbox of the workers started with `workdir`, none of them running."""
    from tests.workers import Worker

    return Worker.mailbox(SimpleNamespace(mail_dir=workdir / "mail"))


def drill_redis(*, srv, tenant, redis: RedisServer, worker) -> dict:
    from django.db import connections

    from notifications.models import Notification
    from plans.models import Plan
    from tests.workers import wait_for

    connections.close_all()
    parent = _notifying_parent(tenant)
    plans = list(Plan.objects.filter(kr__parent=parent).order_by("kr_id"))
    wait_for(
        lambda: not Notification.objects.filter(emailed_at__isnull=True).exists(),
        30,
        what="the e-mail of earlier notifications",
        worker=worker,
    )
    before = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
    mail_before = _mail_count(worker)

    redis.stop()
    down_at = time.monotonic()
    print(f"  Redis stopped; {REDIS_DOWN_SAVES} saves", flush=True)
    statuses, latencies = Counter(), []
    for i in range(REDIS_DOWN_SAVES):
        plan = plans[i % len(plans)]
        values = [int(float(v)) + (1 if i % 2 == 0 else -1) * (1 + i) for v in plan.values_json]
        status, body, seconds = _save(srv.port, tenant, plan.kr_id, values, plan.version)
        statuses[str(status)] += 1
        latencies.append(seconds)
        if status == 200:
            plan.version, plan.values_json = body["version"], body["values"]
    new = Notification.objects.filter(id__gt=before)
    recorded = new.count()
    time.sleep(2 * SCAN_SECONDS)  # two scan periods: nothing can go out without the broker
    emailed_while_down = new.filter(emailed_at__isnull=False).count()
    worker_survived_outage = worker.proc.poll() is None
    redis.start()
    back_at = time.monotonic()
    print(f"  Redis started after {back_at - down_at:.1f} s", flush=True)
    delivered = _waited(
        lambda: not new.filter(emailed_at__isnull=True).exists(),
        60,
        interval=0.1,
        what="the notifications' e-mail after Redis came back",
        worker=worker,
    )
    delivered_after = time.monotonic() - back_at
    mail = _mail_count(worker) - mail_before
    figures = {
        "saves": dict(statuses),
        "save_latency_ms": {
            "first": round(latencies[0] * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
            "median": round(sorted(latencies)[len(latencies) // 2] * 1000, 1),
        },
        "notifications_recorded": recorded,
        "emailed_while_down": emailed_while_down,
        "redis_down_s": round(back_at - down_at, 1),
        "all_emailed_after_redis_back_s": round(delivered_after, 2) if delivered else None,
        "emails_sent": mail,
        "worker_survived": worker_survived_outage and worker.proc.poll() is None,
    }
    figures["passed"] = bool(
        statuses == {"200": REDIS_DOWN_SAVES}
        and recorded >= REDIS_DOWN_SAVES
        and emailed_while_down == 0
        and delivered
        and mail == recorded
        and figures["worker_survived"]
    )
    return figures


def _pending(tenant, prefix: str, count: int):
    """`count` notifications of the tenant's people not e-mailed yet, keys `prefix:i`."""
    from django.contrib.auth import get_user_model

    from hierarchy.models import Organization
    from notifications.models import Notification

    org = Organization.objects.get(slug=tenant.slug)
    users = list(get_user_model().objects.filter(memberships__organization=org).order_by("id"))
    Notification.objects.bulk_create(
        [
            Notification(
                organization=org,
                user=users[i % len(users)],
                kind="change",
                key=f"{prefix}:{i}",
                message=f"{prefix} notification {i}",
            )
            for i in range(count)
        ]
    )
    return Notification.objects.filter(key__startswith=f"{prefix}:")


def _at_kill(pending, workdir: Path, prefix: str) -> dict:
    """Where delivery stands: this drill's e-mails in the mailbox, and their rows. Read
    fast (the bodies counted in the files' bytes, not parsed): the pool process killed,
    its task is redelivered within a fraction of a second."""
    mark = f"{prefix} notification ".encode()
    mail = sum(path.read_bytes().count(mark) for path in (workdir / "mail").glob("*.log"))
    return {
        "emails_sent": mail,
        "notifications_marked_emailed": pending.filter(emailed_at__isnull=False).count(),
        "claimed_not_marked": pending.filter(
            emailed_at__isnull=True, email_claimed_at__isnull=False
        ).count(),
    }


def _kill_when_under_way(pending, worker, kill) -> None:
    """Delivery claims a batch of 200, then sends and marks each: kill once a third of
    the notifications are claimed, a few e-mails into that batch."""
    from tests.workers import wait_for

    claimed = pending.filter(email_claimed_at__isnull=False)
    wait_for(
        lambda: claimed.count() >= pending.count() // 3,
        60,
        interval=0.005,
        what="e-mail delivery to be under way",
        worker=worker,
    )
    time.sleep(0.02)
    kill()


def _emailed_once(pending, mailbox, prefix: str, count: int) -> dict:
    bodies = Counter(
        m.get_content().strip()
        for m in mailbox
        if m.get_content().strip().startswith(f"{prefix} notification ")
    )
    expected = {f"{prefix} notification {i}" for i in range(count)}
    return {
        "notifications": count,
        "notifications_recorded": pending.count(),
        "distinct_emailed": len(set(bodies) & expected),
        "missing": len(expected - set(bodies)),
        "duplicates": sum(n - 1 for n in bodies.values()),
    }


def _pool_child(worker) -> int:
    """The prefork pool's one process (the worker runs without beat: its only child)."""
    from tests.workers import group_members

    children = [
        pid
        for pid in group_members(worker.pgid)
        if pid != worker.proc.pid
        and int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        == worker.proc.pid
    ]
    if len(children) != 1:
        raise RuntimeError(f"expected one pool process, found {children}")
    return children[0]


def drill_pool_child_kill(*, tenant, redis: RedisServer, db_url: str, workdir: Path) -> dict:
    """SIGKILL the pool process while it runs `email_deliver_task`: the worker's main
    process sees it die (WorkerLostError) and, with acks_late and reject_on_worker_lost,
    puts the message back; the same task is redelivered to a new pool process."""
    import signal

    import redis as redis_client

    from notifications.tasks import email_deliver_task
    from tests.workers import running_worker

    count = KILL_NOTIFICATIONS
    pending = _pending(tenant, "drill-child", count)
    # The drill's own Redis: drop what the earlier drills left queued (scans, e-mail
    # tasks), so that the task killed and redelivered is this one.
    redis_client.Redis.from_url(redis.url()).flushdb()
    env, db_env = _worker_extra_env(), {"DATABASE_URL": db_url}
    with running_worker(
        broker=redis.url(), db_env=db_env, beat=False, workdir=workdir, extra_env=env
    ) as worker:
        task_id = email_deliver_task.apply_async().id  # as a save queues it on commit
        child = _pool_child(worker)
        _kill_when_under_way(pending, worker, lambda: os.kill(child, signal.SIGKILL))
        killed_at = time.monotonic()
        at_kill = _at_kill(pending, workdir, "drill-child")
        print(f"  pool process SIGKILLed mid-delivery: {at_kill}", flush=True)
        succeeded = f"email_deliver_task[{task_id}] succeeded"
        redelivered = _waited(
            lambda: succeeded in worker.log_text(), 60, what="the redelivered task"
        )
        redelivered_after = time.monotonic() - killed_at
        after_redelivery = _at_kill(pending, workdir, "drill-child")
        # What the killed process had claimed waits for the lease; then the next
        # delivery (the next save's or the next scan's) sends it.
        time.sleep(max(0.0, EMAIL_LEASE_SECONDS - (time.monotonic() - killed_at)) + 0.5)
        email_deliver_task.apply_async()
        done = _waited(
            lambda: not pending.filter(emailed_at__isnull=True).exists(),
            60,
            interval=0.2,
            what="every notification to be e-mailed",
            worker=worker,
        )
        finished = time.monotonic()
        log = worker.log_text()
    figures = {
        "at_kill": at_kill,
        # the redelivered task sent what nobody had claimed; the killed batch's rest waits
        "after_redelivery": after_redelivery,
        "worker_lost_logged": "WorkerLostError" in log,
        "task_received": log.count(f"email_deliver_task[{task_id}] received"),
        "task_log": [line[:200] for line in log.splitlines() if task_id in line][:6],
        "task_redelivered_and_succeeded": redelivered,
        "redelivered_after_s": round(redelivered_after, 2) if redelivered else None,
        "all_emailed_after_kill_s": round(finished - killed_at, 2) if done else None,
        **_emailed_once(pending, _mailbox(workdir), "drill-child", count),
    }
    figures["passed"] = bool(
        done
        and redelivered
        and figures["task_received"] == 2  # once, and again after the kill
        and figures["notifications_recorded"] == count
        and figures["missing"] == 0
        and figures["duplicates"] <= 1
        and 0 < at_kill["notifications_marked_emailed"] < count
    )
    return figures


def drill_worker_kill(*, tenant, redis: RedisServer, db_url: str, workdir: Path) -> dict:
    """SIGKILL the whole worker (main process, pool, beat) while it e-mails; start it
    again. Its message is not redelivered at once (Redis keeps an unacknowledged message
    for the visibility timeout, an hour): the restarted worker's next deadline scan
    finds what is left, since the database, not the broker, knows what is unsent."""
    from tests.workers import running_worker

    count = KILL_NOTIFICATIONS
    pending = _pending(tenant, "drill-kill", count)
    env, db_env = _worker_extra_env(), {"DATABASE_URL": db_url}
    with running_worker(
        broker=redis.url(), db_env=db_env, scan_seconds=SCAN_SECONDS, workdir=workdir,
        extra_env=env,
    ) as worker:  # fmt: skip
        _kill_when_under_way(pending, worker, worker.kill)
        killed_at = time.monotonic()
    at_kill = _at_kill(pending, workdir, "drill-kill")
    print(f"  worker SIGKILLed mid-delivery: {at_kill}", flush=True)
    with running_worker(
        broker=redis.url(), db_env=db_env, scan_seconds=SCAN_SECONDS, workdir=workdir,
        extra_env=env,
    ) as again:  # fmt: skip
        restarted_at = time.monotonic()
        done = _waited(
            lambda: not pending.filter(emailed_at__isnull=True).exists(),
            EMAIL_LEASE_SECONDS + 60,
            interval=0.2,
            what="every notification to be e-mailed",
            worker=again,
        )
        finished = time.monotonic()
        time.sleep(SCAN_SECONDS)  # one more scan: nothing is sent again
    figures = {
        "at_kill": at_kill,
        "restart_s": round(restarted_at - killed_at, 2),
        "all_emailed_after_restart_s": round(finished - restarted_at, 2) if done else None,
        **_emailed_once(pending, _mailbox(workdir), "drill-kill", count),
    }
    figures["passed"] = bool(
        done
        and figures["notifications_recorded"] == count
        and figures["missing"] == 0
        and figures["duplicates"] <= 1
        and 0 < at_kill["notifications_marked_emailed"] < count
    )
    return figures


def drill_poisoned(*, redis: RedisServer, db_url: str, workdir: Path) -> dict:
    """Issue 13: one poisoned message stopped every organization's e-mail (the task
    caught only OSError; the batch was claimed again after each lease and failed
    again). Here it sits in the middle of the others of `POISON_ORGS` organizations."""
    from django.contrib.auth import get_user_model

    from hierarchy.models import Membership, Organization, Role
    from notifications.models import Notification
    from tests.workers import running_worker

    User = get_user_model()
    prefix, count, middle = "drill-poison", POISON_MESSAGES, POISON_MESSAGES // 2
    people = []
    for o in range(POISON_ORGS):
        org = Organization.objects.create(name=f"Poison drill {o}", slug=f"poison-drill-{o}")
        for u in range(3):
            user = User.objects.create(
                username=f"poison-{o}-{u}", email=f"poison-{o}-{u}@example.test"
            )
            Membership.objects.create(organization=org, user=user, role=Role.MEMBER)
            people.append((org, user))
    poison_org = people[0][0]
    poisoned = User.objects.create(username="poison-bad", email="bad@example.test")
    Membership.objects.create(organization=poison_org, user=poisoned, role=Role.MEMBER)
    User.objects.filter(pk=poisoned.pk).update(email="bad@example.test\r\nBcc: all@evil.test")
    rows = []
    for i in range(count):
        org, user = (poison_org, poisoned) if i == middle else people[i % len(people)]
        rows.append(
            Notification(
                organization=org,
                user=user,
                kind="change",
                key=f"{prefix}:{i}",
                message=f"{prefix} notification {i}",
            )
        )
    Notification.objects.bulk_create(rows)
    pending = Notification.objects.filter(key__startswith=f"{prefix}:")
    bad = pending.filter(user=poisoned)
    others = pending.exclude(user=poisoned)
    env, db_env = _worker_extra_env(), {"DATABASE_URL": db_url}
    with running_worker(
        broker=redis.url(), db_env=db_env, scan_seconds=SCAN_SECONDS, workdir=workdir,
        extra_env=env,
    ) as worker:  # fmt: skip
        started = time.monotonic()
        done = _waited(
            lambda: (
                not others.filter(emailed_at__isnull=True).exists()
                and bad.filter(email_failed_at__isnull=False).exists()
            ),
            60,
            interval=0.1,
            what="the others e-mailed and the poisoned one failed",
            worker=worker,
        )
        finished = time.monotonic()
        mailed = _mail_count(worker)
        time.sleep(3 * SCAN_SECONDS)  # three more scans: nothing sent again, nothing retried
        sent_again = _mail_count(worker) - mailed
    bodies = Counter(
        m.get_content().strip()
        for m in _mailbox(workdir)
        if m.get_content().strip().startswith(f"{prefix} notification ")
    )
    expected = {f"{prefix} notification {i}" for i in range(count) if i != middle}
    failed = bad.get()
    figures = {
        "messages": count,
        "organizations": POISON_ORGS,
        "poisoned_position": middle,
        "others": len(expected),
        "others_delivered": len(set(bodies) & expected),
        "others_missing": len(expected - set(bodies)),
        "duplicates": sum(n - 1 for n in bodies.values()),
        "poisoned_delivered": f"{prefix} notification {middle}" in bodies,
        "poisoned_failed": failed.email_failed_at is not None,
        "poisoned_attempts": failed.email_attempts,
        "poisoned_reason": failed.email_error[:120],
        "all_done_after_s": round(finished - started, 2) if done else None,
        "sent_by_later_scans": sent_again,
    }
    figures["passed"] = bool(
        done
        and figures["others_delivered"] == count - 1
        and figures["others_missing"] == 0
        and figures["duplicates"] == 0
        and not figures["poisoned_delivered"]
        and figures["poisoned_failed"]
        and figures["poisoned_attempts"] == 1
        and figures["poisoned_reason"].startswith("BadHeaderError")
        and sent_again == 0
    )
    return figures


def _webhook_org():
    """An organization of the drill's own: a shared KR of three departments' children,
    locked, so that each save of a child is a modification (and the first opens a
    round). Answers (the organization, its admin, the children)."""
    from datetime import date
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from hierarchy import services as hs
    from hierarchy.models import Department, Membership, Role
    from plans import services as ps

    User = get_user_model()
    admin = User.objects.create(username="webhook-drill-admin", email="wd-admin@example.test")
    org = hs.organization_create(name="Webhook drill", slug="webhook-drill", actor=admin)
    owner = User.objects.create(username="webhook-drill-owner", email="wd-owner@example.test")
    Membership.objects.create(organization=org, user=owner, role=Role.MEMBER)
    cycle = hs.cycle_create(
        org=org, name="Q1", start=date(2026, 1, 1), end=date(2026, 3, 31), granularity="month"
    )
    objective = hs.objective_create(org=org, cycle=cycle, title="Grow", owner=owner)
    children = []
    parent = None
    for n, name in enumerate(["Sales", "Marketing", "Partnerships"]):
        lead = User.objects.create(username=f"webhook-drill-{n}", email=f"wd-{n}@example.test")
        Membership.objects.create(organization=org, user=lead, role=Role.MEMBER)
        department = Department.objects.create(organization=org, name=name, lead=lead)
        if parent is None:
            parent = hs.kr_create(
                org=org, objective=objective, title="Pipeline", owner=owner,
                department=department, unit="USD", metric_kind="cumulative",
                target=Decimal(0),
            )  # fmt: skip
        children.append(
            hs.kr_create(
                org=org,
                objective=objective,
                title=f"{name} pipeline",
                owner=lead,
                department=department,
                unit="USD",
                metric_kind="cumulative",
                target=Decimal(0),
                parent=parent,
            )
        )
    for kr in children:
        kr.refresh_from_db()
        ps.plan_update(kr=kr, values=[Decimal(1000)] * 3, version=kr.plan.version, actor=kr.owner)
    parent.refresh_from_db()
    ps.plan_lock(kr=parent, actor=owner)
    return org, admin, children


def _max_latency(deliveries) -> float:
    """The longest time from an event to its delivery's 2xx, in seconds."""
    waits = [(d.delivered_at - d.created_at).total_seconds() for d in deliveries if d.delivered_at]
    return round(max(waits, default=0), 2)


def drill_webhook_down(*, redis: RedisServer, db_url: str, workdir: Path) -> dict:
    """Issue 16: a webhook's receiver down for a while, then back."""
    from decimal import Decimal

    from notifications import webhooks
    from notifications.models import WebhookDelivery, WebhookEvent
    from plans import services as ps
    from tests.receiver import Receiver
    from tests.workers import running_worker

    org, admin, children = _webhook_org()
    down, up = Receiver().up(), Receiver().up()
    down.down()  # its port closed: connections refused
    hooks = {
        name: webhooks.webhook_create(
            org=org, actor=admin, url=receiver.url, events=WebhookEvent.values
        )
        for name, receiver in (("down", down), ("up", up))
    }
    env = {**_worker_extra_env(), **WEBHOOK_ENV}
    with running_worker(
        broker=redis.url(), db_env={"DATABASE_URL": db_url}, scan_seconds=SCAN_SECONDS,
        workdir=workdir, extra_env=env,
    ) as worker:  # fmt: skip
        started = time.monotonic()
        for n in range(WEBHOOK_SAVES):
            kr = children[n % len(children)]
            kr.refresh_from_db()
            kr.plan.refresh_from_db()
            ps.plan_update(
                kr=kr, values=[Decimal(1000 + n + 1)] * 3, version=kr.plan.version,
                actor=kr.owner, rationale=f"webhook drill save {n}",
            )  # fmt: skip
            time.sleep(0.2)
        saved_s = time.monotonic() - started
        time.sleep(max(0.0, WEBHOOK_DOWN_SECONDS - (time.monotonic() - started)))
        pending = WebhookDelivery.objects.filter(webhook=hooks["down"], status="pending")
        attempts_while_down = sum(pending.values_list("attempts", flat=True))
        pending_at_return = pending.count()
        down.up()
        returned = time.monotonic()
        print(
            f"  receiver back after {returned - started:.1f} s, {pending_at_return} deliveries "
            f"pending ({attempts_while_down} attempts refused meanwhile)",
            flush=True,
        )
        done = _waited(
            lambda: (
                not WebhookDelivery.objects.filter(organization=org)
                .exclude(status="delivered")
                .exists()
            ),
            120,
            interval=0.2,
            what="every delivery delivered",
            worker=worker,
        )
        finished = time.monotonic()
        answered_before = sum(r.answered is not None for r in down.received)
        time.sleep(3)  # three more sweeps: nothing sent again
        sent_again = sum(r.answered is not None for r in down.received) - answered_before
    down.down()
    up.down()
    figures = {"saves": WEBHOOK_SAVES, "saves_took_s": round(saved_s, 1)}
    for name, receiver in (("down", down), ("up", up)):
        rows = {str(d.pk): d for d in WebhookDelivery.objects.filter(webhook=hooks[name])}
        ok = Counter(r.delivery for r in receiver.received if r.answered and r.answered < 300)
        figures[name] = {
            "deliveries_recorded": len(rows),
            "events": dict(Counter(d.event for d in rows.values())),
            "requests_received": len(receiver.received),
            "delivered_once": sum(1 for i in rows if ok[i] == 1),
            "duplicates": sum(n - 1 for n in ok.values() if n > 1),
            "missing": len(set(rows) - set(ok)),
            "unknown_ids": len(set(ok) - set(rows)),
            "failed": sum(d.status == "failed" for d in rows.values()),
            "bodies_and_signatures_ok": all(
                r.body == rows[r.delivery].body.encode() and r.signed_with(hooks[name].secret)
                for r in receiver.received
                if r.delivery in rows
            ),
            "max_attempts": max((d.attempts for d in rows.values()), default=0),
            "max_latency_s": _max_latency(rows.values()),
        }
    figures["down"].update(
        down_s=round(returned - started, 1),
        pending_at_return=pending_at_return,
        attempts_refused_while_down=attempts_while_down,
        all_delivered_after_return_s=round(finished - returned, 2) if done else None,
        sent_again_by_later_sweeps=sent_again,
    )
    figures["passed"] = bool(
        done
        and all(
            figures[n]["deliveries_recorded"] >= WEBHOOK_SAVES
            and figures[n]["delivered_once"] == figures[n]["deliveries_recorded"]
            and figures[n]["duplicates"] == 0
            and figures[n]["missing"] == 0
            and figures[n]["unknown_ids"] == 0
            and figures[n]["failed"] == 0
            and figures[n]["bodies_and_signatures_ok"]
            for n in ("down", "up")
        )
        and pending_at_return > 0  # it really was down while events happened
        and sent_again == 0
        and figures["up"]["max_latency_s"] < WEBHOOK_DOWN_SECONDS  # held up by nothing
    )
    return figures


def _worker_extra_env() -> dict:
    return {"EMAIL_LEASE_SECONDS": str(EMAIL_LEASE_SECONDS)}


# --- The run -------------------------------------------------------------------------


def run(*, seconds: float, only: set[str]) -> dict:

    results: dict = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    with pg_cluster() as cluster, redis_server() as redis:
        db_url = cluster.url()
        os.environ.update(
            DATABASE_URL=db_url,
            REDIS_URL=redis.url(),
            OKRPLAN_VAR_DIR=tempfile.mkdtemp(prefix="okrplan-drill-var-"),
            SECRET_KEY=_secret(),
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okrplan.settings")
        os.environ.setdefault("DEBUG", "1")
        sys.path.insert(0, str(ROOT))
        import django
        from django.core.management import call_command

        django.setup()
        from okrplan.lib import tenancy

        # The drill's own process is the operator's (it builds the data and counts what
        # arrived in every organization); its servers' requests set their own.
        tenancy.session_scope_default(tenancy.SYSTEM)
        started = time.monotonic()
        call_command("migrate", verbosity=0)
        from bench.tenants import bench_tenant

        tenant = bench_tenant() if only & {"database", "redis", "worker_kill"} else None
        results["setup_s"] = round(time.monotonic() - started, 1)
        results["postgresql"] = cluster.bin.parent.name
        workdir = Path(tempfile.mkdtemp(prefix="okrplan-drill-worker-"))
        try:
            if only & {"database", "redis"}:
                _serving_drills(results, only, tenant, cluster, redis, db_url, workdir, seconds)
            if "worker_kill" in only:
                print("Drill 3: the worker SIGKILLed while it e-mails", flush=True)
                kill = {"tenant": tenant, "redis": redis, "db_url": db_url, "workdir": workdir}
                parts = {
                    "pool_process": _attempt(drill_pool_child_kill, **kill),
                    "whole_worker": _attempt(drill_worker_kill, **kill),
                }
                results["worker_kill"] = {
                    **parts,
                    "email_lease_s": EMAIL_LEASE_SECONDS,
                    "passed": all(p["passed"] for p in parts.values()),
                }
                _print("worker_kill", results["worker_kill"])
            if "poisoned" in only:
                print(f"Drill 4: a poisoned message among {POISON_MESSAGES}", flush=True)
                poison_dir = Path(tempfile.mkdtemp(prefix="okrplan-drill-poison-"))
                try:
                    results["poisoned"] = _attempt(
                        drill_poisoned, redis=redis, db_url=db_url, workdir=poison_dir
                    )
                finally:
                    shutil.rmtree(poison_dir, ignore_errors=True)
                _print("poisoned", results["poisoned"])
            if "webhook_down" in only:
                print(f"Drill 5: a webhook receiver down for {WEBHOOK_DOWN_SECONDS} s", flush=True)
                hook_dir = Path(tempfile.mkdtemp(prefix="okrplan-drill-webhook-"))
                try:
                    results["webhook_down"] = _attempt(
                        drill_webhook_down, redis=redis, db_url=db_url, workdir=hook_dir
                    )
                finally:
                    shutil.rmtree(hook_dir, ignore_errors=True)
                _print("webhook_down", results["webhook_down"])
        finally:
            from django.db import connections

            connections.close_all()
            shutil.rmtree(workdir, ignore_errors=True)
            shutil.rmtree(os.environ["OKRPLAN_VAR_DIR"], ignore_errors=True)
    drills = [k for k in DRILLS if k in results]
    results["passed"] = all(results[k]["passed"] for k in drills)
    return results


def _serving_drills(results, only, tenant, cluster, redis, db_url, workdir, seconds) -> None:
    """Drills 1 and 2: gunicorn and a worker with beat serve the tenant meanwhile."""
    from bench.http_load import server
    from tests.workers import running_worker

    with (
        server(db_url, redis.url()) as srv,
        running_worker(
            broker=redis.url(), db_env={"DATABASE_URL": db_url},
            scan_seconds=SCAN_SECONDS, workdir=workdir, extra_env=_worker_extra_env(),
        ) as worker,
    ):  # fmt: skip
        if "database" in only:
            print(f"Drill 1: PostgreSQL restarted under load ({seconds:.0f} s)", flush=True)
            results["database"] = _attempt(
                drill_database,
                srv=srv, tenant=tenant, cluster=cluster, worker=worker, seconds=seconds,
            )  # fmt: skip
            _print("database", results["database"])
        if "redis" in only:
            print("Drill 2: Redis down while plans are saved", flush=True)
            results["redis"] = _attempt(
                drill_redis, srv=srv, tenant=tenant, redis=redis, worker=worker
            )
            _print("redis", results["redis"])


def _attempt(drill, **kwargs) -> dict:
    """Run one drill; one that breaks (a timeout waiting for the worker, say) is failed,
    with its error written down, and the others still run."""
    try:
        return drill(**kwargs)
    except Exception as error:
        import traceback

        traceback.print_exc()
        return {"passed": False, "error": f"{type(error).__name__}: {error}"[:2000]}


def _secret() -> str:
    from bench.http_load import SECRET

    return SECRET


def _print(name: str, figures: dict) -> None:
    verdict = "PASS" if figures["passed"] else "FAIL"
    print(f"  {name}: {verdict}\n" + json.dumps(figures, indent=2), flush=True)


def _merged(earlier: dict, now: dict, only: set[str]) -> dict:
    """The earlier run's figures with those of the drills run now: each drill says when
    it was measured; `passed` is over every drill in the file."""
    merged = dict(earlier)
    for drill in only:
        merged[drill] = {**now[drill], "measured_at": now["measured_at"], "run_s": now["total_s"]}
    merged["passed"] = all(merged[k]["passed"] for k in DRILLS if k in merged)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="the database drill's load")
    parser.add_argument(
        "--only", action="append", choices=DRILLS,
        help="run only this drill (repeatable); the others' figures in --output are kept",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the figures go")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    started = time.monotonic()
    results = run(seconds=args.seconds, only=set(args.only or DRILLS))
    results["total_s"] = round(time.monotonic() - started, 1)
    print(
        f"{'PASSED' if results['passed'] else 'FAILED'} in {results['total_s']} s; "
        f"figures in {args.output}"
    )
    if args.only and args.output.exists():
        results = _merged(json.loads(args.output.read_text()), results, set(args.only))
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
