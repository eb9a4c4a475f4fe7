"""Real Celery workers for the tests (STYLE.md: "Workers are tested as workers").

`running_worker(...)` starts `celery -A okrplan worker --beat` as a subprocess in
its own process group, pointed at the test's own database (the SQLite test file or
the PostgreSQL test database: use `database_env()` inside a test that has
`transactional_db`, so that the test's rows are committed and the worker sees
them), at a broker of its own (the embedded filesystem broker in a fresh folder,
or a Redis database flushed by `redis_test_url()`), with the deadline scan every
`scan_seconds` and e-mail written to files the test can read (`Worker.mailbox()`).

While the worker runs, this test process publishes to the same broker (the e-mail
tasks queued on commit by the services), as the web process does in production.
On exit the worker is stopped (SIGTERM, then SIGKILL) and nothing of its process
group is left behind: a test's `transactional_db` flush comes after that.
"""

import email
import email.policy
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60
STOP_TIMEOUT = 20
REDIS_TEST_DB = 13
# The worker's environment is built here: none of these leak in from the test run.
_OWN_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "SQLITE_PATH",
    "SQLITE_TEST_PATH",
    "BROKER_DIR",
    "OKRPLAN_VAR_DIR",
    "EMAIL_BACKEND",
    "EMAIL_FILE_PATH",
    "DEADLINE_SCAN_SECONDS",
    "WEBHOOK_SWEEP_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "CONN_MAX_AGE",
}
_starts = itertools.count(1)


@dataclass
class Worker:
    proc: subprocess.Popen
    log: Path
    workdir: Path
    broker_url: str
    transport_options: dict = field(default_factory=dict)

    @property
    def pgid(self) -> int:
        return self.proc.pid  # start_new_session: the worker leads its own group

    @property
    def mail_dir(self) -> Path:
        return self.workdir / "mail"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def tasks_succeeded(self, name: str) -> int:
        """How many runs of the task `name` the worker logged as succeeded."""
        return len(re.findall(rf"Task {re.escape(name)}\[[0-9a-f-]+\] succeeded", self.log_text()))

    def mailbox(self) -> list[email.message.EmailMessage]:
        """Every e-mail the worker sent (Django's file-based backend, one or more per file)."""
        messages = []
        if not self.mail_dir.exists():
            return messages
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
        return messages

    def kill(self) -> None:
        """SIGKILL the whole process group at once (main process, pool child, beat)."""
        _signal_group(self.pgid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)
        _wait_group_gone(self.pgid, timeout=STOP_TIMEOUT)


def database_env() -> dict[str, str]:
    """Point a subprocess at the database this test uses (call it inside the test)."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(settings["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("an in-memory SQLite test database is invisible to a worker")
        return {"SQLITE_PATH": os.path.abspath(name)}  # the worker runs in ROOT
    if connection.vendor == "postgresql":
        user = quote(settings.get("USER") or "", safe="")
        password = quote(settings.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings.get("HOST") or "127.0.0.1"
        host = quote(host, safe="") if host.startswith("/") else host  # a socket folder
        port = f":{settings['PORT']}" if settings.get("PORT") else ""
        url = f"postgres://{auth}{host}{port}/{quote(settings['NAME'], safe='')}"
        sslmode = (settings.get("OPTIONS") or {}).get("sslmode")
        return {"DATABASE_URL": url + (f"?sslmode={sslmode}" if sslmode else "")}
    raise RuntimeError(f"no worker support for {connection.vendor}")


def redis_test_url(db: int = REDIS_TEST_DB) -> str:
    """A flushed Redis database for the worker: the server of REDIS_URL (default local).

    Skips when Redis does not answer, unless CI is set: there it must answer."""
    import redis

    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    url = urlunsplit((base.scheme, base.netloc, f"/{db}", "", ""))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).flushdb()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis must answer in CI ({url}): {error}")
        pytest.skip(f"Redis is not answering at {url}: {error}")
    return url


def wait_for(
    predicate: Callable[[], object],
    timeout: float,
    *,
    interval: float = 0.1,
    what: str = "the condition",
    worker: Worker | None = None,
):
    """Poll `predicate` (e.g. a database count) until it is truthy; return its value.

    Each poll is a new statement in autocommit mode, which sees what the worker has
    committed (SQLite in WAL mode, PostgreSQL read committed): no reconnect needed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if worker is not None and worker.proc.poll() is not None:
            raise AssertionError(
                f"the worker exited ({worker.proc.returncode}) while waiting for {what}:\n"
                + worker.log_tail()
            )
        if time.monotonic() > deadline:
            tail = f"\nworker log:\n{worker.log_tail()}" if worker is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")
        time.sleep(interval)


def worker_env(
    *, broker: str, db_env: dict, workdir: Path, scan_seconds: float, extra_env=None
) -> tuple[dict, str, dict]:
    """The worker's environment, and the broker URL and options it will use."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="okrplan.settings",
        DEBUG="1",
        PYTHONUNBUFFERED="1",
        OKRPLAN_VAR_DIR=str(workdir / "var"),
        DEADLINE_SCAN_SECONDS=str(scan_seconds),
        # The webhooks' sweep only where a test asks for it (extra_env): on the embedded
        # broker each extra periodic message costs the one-slot worker up to a polling
        # interval (1 s), and the deadline tests' windows are 1.5 s wide (a reminder at
        # 75 % of a 6 s step). Webhooks queued on commit go out without it.
        WEBHOOK_SWEEP_SECONDS="3600",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(workdir / "mail"),
        # billiard's pymp-* folders (left behind by a SIGKILL) and the embedded
        # broker's messages being read stay in the test's folder
        TMPDIR=str(workdir / "tmp"),
    )
    env.update(db_env)
    if broker == "embedded":
        folder = workdir / "broker"
        folder.mkdir(parents=True, exist_ok=True)
        env["BROKER_DIR"] = str(folder)
        url = "filesystem://"
        options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "store_processed": False,
        }
    elif broker.startswith("redis://"):
        env["REDIS_URL"] = broker
        url, options = broker, {"visibility_timeout": 3600}
    else:
        raise ValueError(f"broker is 'embedded' or a redis:// URL, not {broker!r}")
    env.update(extra_env or {})
    return env, url, options


@contextmanager
def running_worker(
    *,
    broker: str,
    db_env: dict,
    scan_seconds: float = 1,
    extra_env: dict | None = None,
    beat: bool = True,
    workdir: Path | None = None,
    pool: str = "prefork",
    ready_timeout: float = READY_TIMEOUT,
) -> Iterator[Worker]:
    """Start a real worker (and beat) and stop it on exit, whatever happened.

    `broker`: "embedded" (a filesystem broker in `workdir`/broker) or a redis:// URL
    (see `redis_test_url`). A second worker started with the same `workdir` shares
    the first one's broker folder, beat schedule and mailbox: a restart."""
    own_workdir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="okrplan-worker-"))
    for sub in ("var", "mail", "tmp"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    env, url, options = worker_env(
        broker=broker,
        db_env=db_env,
        workdir=workdir,
        scan_seconds=scan_seconds,
        extra_env=extra_env,
    )
    number = next(_starts)
    log = workdir / f"worker-{number}.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "okrplan",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
        f"--pool={pool}",
        f"--hostname=okrplan-test-{os.getpid()}-{number}@%h",
        "--without-mingle",
        "--without-gossip",
    ]
    if beat:
        command += ["--beat", f"--schedule={workdir / 'var' / 'celerybeat-schedule'}"]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(proc=proc, log=log, workdir=workdir, broker_url=url, transport_options=options)
    try:
        wait_for(
            lambda: (
                " ready." in worker.log_text()
                and (not beat or "beat: Starting" in worker.log_text())
            ),
            ready_timeout,
            interval=0.2,
            what="the worker to be ready",
            worker=worker,
        )
        with publishing_to(url, options):
            yield worker
    finally:
        stop(worker)
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def stop(worker: Worker) -> None:
    """A warm shutdown, SIGKILL for what is left after a while, and nothing of the
    process group still running afterwards.

    SIGTERM goes to the main process, as Celery documents: sent to the whole group it
    also kills the pool child in the middle of its task (logged as an error) and
    the main process forks a new one during its shutdown."""
    if worker.proc.poll() is None:
        worker.proc.send_signal(signal.SIGTERM)
        try:
            worker.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(worker.pgid, signal.SIGKILL)
            worker.proc.wait(timeout=STOP_TIMEOUT)
    if not _wait_group_gone(worker.pgid, timeout=STOP_TIMEOUT):
        _signal_group(worker.pgid, signal.SIGKILL)
        if not _wait_group_gone(worker.pgid, timeout=STOP_TIMEOUT):
            raise RuntimeError(f"processes of the worker's group {worker.pgid} survived SIGKILL")


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ")"
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def publishing_to(url: str, options: dict) -> Iterator[None]:
    """Let this process (the "web" side) publish to the worker's broker meanwhile.

    Celery reads the broker settings when it first connects and keeps the
    connection pools (kombu's, process-wide); dropping them (as Celery itself does
    after a fork) makes the next publish connect to the given broker, and to the
    configured one again after."""
    from kombu import pools

    from okrplan.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options)

    def switch(broker_url, transport, transport_options):
        pools.reset()  # closes and forgets every pool: a closed one is never reused
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = broker_url
        app.conf.broker_transport = transport
        app.conf.broker_transport_options = transport_options

    # a transport class configured for the embedded broker is kept for it, not for Redis
    switch(url, None if url.startswith("redis") else saved[1], options)
    try:
        yield
    finally:
        switch(*saved)
