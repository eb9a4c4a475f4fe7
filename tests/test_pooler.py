"""The service behind PgBouncer in transaction mode, row-level security on (issue 15,
docs/scaling.md "A pooler").

PgBouncer (Debian's `pgbouncer`) is started on a free port of its own in front of the
test's PostgreSQL, pool_mode=transaction, logging in to PostgreSQL as the app's role
(`PG_APP_ROLE`, given LOGIN here) with a pool smaller than its clients. gunicorn (three
processes) and a real Celery worker connect through it with `DATABASE_POOLER=transaction`.
Shown: an API smoke (a token, a GET, a PUT plan save, another organization's KR a 404),
plan saves from several server processes at once (every one applied, the versions
consecutive, the parent's aggregate their sum), and a modification round whose notice the
worker e-mails through the pooler (the e-mail sweep in `system_scope`, transaction by
transaction).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal as D
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from rest_framework.authtoken.models import Token

from hierarchy.models import KeyResult
from notifications.models import Notification, NotificationKind, Round
from okrplan.lib import tenancy
from plans.models import Plan, PlanRevision
from tests.conftest import PASSWORD
from tests.planning import lock
from tests.workers import ROOT, redis_test_url, running_worker, wait_for

pytestmark = [
    pytest.mark.pg,
    pytest.mark.django_db(transaction=True),  # committed: the servers see the rows
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL pooler"),
]
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
POOL_SIZE = 2  # server connections, fewer than the clients (3 gunicorn workers, the worker)
SAVERS = 3  # threads, each saving its own KR's plan
SAVES = 6  # per thread
REDIS_DB = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pgbouncer_installed() -> None:
    if not os.path.exists(PGBOUNCER):
        if os.environ.get("CI"):
            pytest.fail("the pooler test needs pgbouncer in CI (apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed (make sysdeps)")


class Pooler:
    def __init__(self, folder: Path, settings: dict):
        self.folder = folder
        self.port = _free_port()
        self.host = settings.get("HOST") or "127.0.0.1"
        self.upstream_port = settings.get("PORT") or 5432
        self.dbname = settings["NAME"]
        self.process: subprocess.Popen | None = None

    def url(self, user: str) -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{self.dbname}"

    def start(self) -> None:
        role = tenancy.app_role()
        (self.folder / "users.txt").write_text(f'"{role}" ""\n"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            # every client's server connection logs in as the app's role: no SET ROLE
            f"* = host={self.host} port={self.upstream_port} user={role}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.folder / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {POOL_SIZE}\n"
            "max_client_conn = 200\n"
            "server_reset_query =\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
            "admin_users = postgres\n"
        )
        command = [PGBOUNCER, str(self.folder / "pgbouncer.ini")]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root: it switches user itself
            shutil.chown(self.folder, "postgres")
            command[1:1] = ["-u", "postgres"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(self.url(role), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not start:\n{self.log()}") from None
                time.sleep(0.2)

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # immediate shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def pooler(transactional_db, tmp_path):
    _pgbouncer_installed()
    role = tenancy.app_role()
    with connection.cursor() as cursor:  # the pooler's login: the app's role itself
        cursor.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [role])
        (could_login,) = cursor.fetchone()
    if not could_login:
        with tenancy.owner(), connection.cursor() as cursor:
            cursor.execute(f"ALTER ROLE {connection.ops.quote_name(role)} LOGIN")
    folder = Path(tempfile.mkdtemp(prefix="okrplan-pgbouncer-"))
    pooler = Pooler(folder, connection.settings_dict)
    try:
        pooler.start()
        yield pooler
    finally:
        pooler.stop()
        if not could_login:
            with tenancy.owner(), connection.cursor() as cursor:
                cursor.execute(f"ALTER ROLE {connection.ops.quote_name(role)} NOLOGIN")
        shutil.rmtree(folder, ignore_errors=True)


def _pooled_env(pooler: Pooler, redis_url: str, var: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "SQLITE_PATH", "CACHE_URL", "CONN_MAX_AGE"}
    }
    env.update(
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=pooler.url(tenancy.app_role()),
        DATABASE_POOLER="transaction",
        PG_APP_ROLE=tenancy.app_role(),
        REDIS_URL=redis_url,
        OKRPLAN_VAR_DIR=str(var),
        LOG_LEVEL="WARNING",
    )
    return env


class Web:
    def __init__(self, env: dict, log: Path):
        self.port = _free_port()
        self.log = log
        command = [
            sys.executable, "-m", "gunicorn", "okrplan.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "3", "--worker-class", "sync",
            "--log-level", "warning", "--graceful-timeout", "5",
        ]  # fmt: skip
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not answer:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    def request(self, method: str, path: str, body=None, token: str | None = None, form=False):
        headers = {"Accept": "application/json"}
        data = None
        if token:
            headers["Authorization"] = f"Token {token}"
        if body is not None:
            if form:
                data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def errors(self) -> str:
        text = self.log.read_text(errors="replace")
        return text[-3000:] if "Traceback" in text else ""


def _plan_url(kr: KeyResult) -> str:
    return f"/api/v1/orgs/{kr.organization.slug}/krs/{kr.pk}/plan/"


def test_the_service_runs_behind_pgbouncer_in_transaction_mode(
    world, planning, pooler, tmp_path, settings
):
    # a password hashed as the servers hash it (the tests' own hasher is a fast one)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    world.marketing_lead.password = make_password(PASSWORD)
    world.marketing_lead.save(update_fields=["password"])
    redis_url = redis_test_url(REDIS_DB)

    # Through the pooler, as the app: its role, and no organization's rows without a scope.
    with psycopg.connect(pooler.url(tenancy.app_role()), autocommit=True) as conn:
        row = conn.execute("SELECT current_user, count(*) FROM hierarchy_keyresult").fetchone()
    assert row == (tenancy.app_role(), 0)

    env = _pooled_env(pooler, redis_url, tmp_path / "var")
    web = Web(env, tmp_path / "gunicorn.log")
    try:
        # 1. The API smoke: a token, a GET, a PUT plan save; another organization's KR 404.
        status, body = web.request(
            "POST",
            "/api/v1/auth/token/",
            {"username": world.marketing_lead.username, "password": PASSWORD},
            form=True,
        )
        assert status == 200, body
        token = body["token"]
        kr = planning.marketing_kr
        status, plan = web.request("GET", _plan_url(kr), token=token)
        assert status == 200, plan
        assert plan["effective_values"] == ["1000000", "1000000", "1000000"]
        status, saved = web.request(
            "PUT",
            _plan_url(kr),
            {"values": [900000, 1000000, 1000000], "version": plan["version"]},
            token=token,
        )
        assert status == 200, saved
        assert saved["version"] == plan["version"] + 1
        status, _ = web.request(
            "GET", f"/api/v1/orgs/{world.other_org.slug}/krs/{kr.pk}/plan/", token=token
        )
        assert status == 404  # not a member of globex

        # 2. Saves from several server processes at once: every one applied, in order.
        krs = [planning.marketing_kr, planning.sales_kr, planning.partnerships_kr][:SAVERS]
        tokens = {k.pk: Token.objects.get_or_create(user=k.owner)[0].key for k in krs}
        start = {k.pk: Plan.objects.get(kr=k).version for k in krs}
        revisions = {k.pk: PlanRevision.objects.filter(kr=k).count() for k in krs}
        outcomes: dict[int, list] = {k.pk: [] for k in krs}
        barrier = threading.Barrier(len(krs))

        def saver(k: KeyResult) -> None:
            version = start[k.pk]
            barrier.wait()
            for n in range(SAVES):
                values = [100000 + 1000 * n + k.pk, 200000, 300000]
                status, body = web.request(
                    "PUT", _plan_url(k), {"values": values, "version": version}, token=tokens[k.pk]
                )
                outcomes[k.pk].append(status)
                if status != 200:
                    outcomes[k.pk].append(body)
                    return
                version = body["version"]

        threads = [threading.Thread(target=saver, args=(k,)) for k in krs]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        elapsed = time.monotonic() - began
        assert outcomes == {k.pk: [200] * SAVES for k in krs}, outcomes
        for k in krs:
            assert Plan.objects.get(kr=k).version == start[k.pk] + SAVES
            assert PlanRevision.objects.filter(kr=k).count() == revisions[k.pk] + SAVES
        children = Plan.objects.filter(kr__parent=planning.pipeline)
        total = [sum((D(p.values[i]) for p in children), D(0)) for i in range(3)]
        status, parent = web.request("GET", _plan_url(planning.pipeline), token=token)
        assert status == 200
        assert [D(v) for v in parent["effective_values"]] == total
        print(f"pooled saves: {SAVERS * SAVES} in {elapsed:.2f} s through {POOL_SIZE} connections")

        # 3. A modification round whose notice a real worker e-mails through the pooler.
        lock(planning.pipeline)
        with running_worker(
            broker=redis_url,
            db_env={"DATABASE_URL": env["DATABASE_URL"]},
            workdir=tmp_path / "worker",
            extra_env={"DATABASE_POOLER": "transaction", "PG_APP_ROLE": tenancy.app_role()},
            scan_seconds=1,
        ) as worker:
            status, plan = web.request("GET", _plan_url(kr), token=token)
            status, body = web.request(
                "PUT",
                _plan_url(kr),
                {
                    "values": [800000, 1000000, 1000000],
                    "version": plan["version"],
                    "rationale": "Fair cancelled",
                },
                token=token,
            )
            assert status == 200, body
            round = Round.objects.get(parent_kr=planning.pipeline)
            owner = Token.objects.get_or_create(user=world.owner)[0].key
            status, body = web.request(
                "POST",
                f"/api/v1/orgs/{world.org.slug}/rounds/{round.pk}/notice/",
                {"message": "Marketing plans $100k less in January."},
                token=owner,
            )
            assert status == 200, body
            notices = Notification.objects.filter(round=round, kind=NotificationKind.IMPACT_NOTICE)
            assert set(notices.values_list("user_id", flat=True)) == {
                planning.sales_kr.owner_id,
                planning.partnerships_kr.owner_id,
            }
            wait_for(
                lambda: not notices.filter(emailed_at__isnull=True).exists(),
                30,
                what="the worker to e-mail the notice",
                worker=worker,
            )
            mailed = {str(m["To"]) for m in worker.mailbox()}
            assert {n.user.email for n in notices} <= mailed
        assert not web.errors(), web.errors()
    finally:
        web.stop()
