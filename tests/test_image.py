"""The production image, built and served as docker-compose runs it (no Docker engine here).

docker/build.sh is every build step of the Dockerfile: this module runs it into a folder of
its own (the environment from the lock file, the static files collected as production does),
then serves that build with docker-compose's environment (DEBUG=0, the production settings,
PostgreSQL and Redis) under docker-compose's gunicorn command, logs in as a demo user and
GETs a page of every kind.
"""

import gzip
import http.client
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DATABASE = "okrplan_image"
REDIS_DB = 11  # the broker, CACHE_URL one below (12 to 14: other tests' and the bench's)
ADMIN = ("alice", "okrplan-demo")  # okrplan/demo.py: the demo organization's admin

pytestmark = pytest.mark.once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compose_environment() -> dict[str, str]:
    """docker-compose's environment for web, worker and beat, its ${X:-default}s resolved."""
    resolved = {}
    for name, value in COMPOSE["services"]["web"]["environment"].items():
        match = re.fullmatch(r"\$\{(\w+)(?::-(.*)|:\?.*)\}", str(value))
        resolved[name] = (match.group(2) or "") if match else str(value)
    return resolved


def _compose_command(service: str) -> list[str]:
    command = COMPOSE["services"][service]["command"]
    command = shlex.split(command) if isinstance(command, str) else command
    if command[:2] == ["sh", "-c"]:
        command = shlex.split(command[2].split("&&")[-1])
    return command


def _servers() -> tuple[str, str, str]:
    """A fresh PostgreSQL database and Redis databases of this module's own."""
    import psycopg
    import redis

    admin_url = "postgres://postgres@127.0.0.1:5432/postgres"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE}")
        for db in (REDIS_DB, REDIS_DB - 1):
            redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}", socket_timeout=2).flushdb()
    except (psycopg.OperationalError, redis.RedisError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL or Redis is not answering here: {error}")
    return (
        f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        f"redis://127.0.0.1:6379/{REDIS_DB}",
        f"redis://127.0.0.1:6379/{REDIS_DB - 1}",
    )


@dataclass
class Browser:
    """Cookies kept, redirects not followed; behind a TLS proxy as docker-compose's web is
    meant to be (X-Forwarded-Proto: https), so DEBUG=0's SSL redirect lets it through."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict | None = None):
        origin = f"https://127.0.0.1:{self.port}"
        headers = {"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, content

    def get(self, path: str):
        return self.request("GET", path)

    def log_in(self, username: str, password: str) -> None:
        status, _, page = self.get("/accounts/login/")
        assert status == 200, page[-2000:]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, headers, page = self.request(
            "POST",
            "/accounts/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": token.decode()},
        )
        assert status == 302, page[-2000:]
        assert headers["Location"] == "/", headers["Location"]


@dataclass
class Build:
    venv: Path
    static_root: Path
    env: dict[str, str]
    ids: dict[str, int]
    log: Path

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [str(self.venv / "bin" / "python"), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result.stdout

    def serve(self, log: Path, workers: int = 2, **env: str):
        """docker-compose's web command, on a free port of the loopback interface."""
        port = _free_port()
        command = _compose_command("web")
        command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
        command[command.index("--workers") + 1] = str(workers)
        out = log.open("w")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn stopped:\n{log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    _stop(process)
                    pytest.fail(f"gunicorn did not listen in 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        return process, port

    def healthcheck(self, port: int) -> subprocess.CompletedProcess:
        """docker-compose's healthcheck of the web service, against `port`."""
        test = COMPOSE["services"]["web"]["healthcheck"]["test"]
        assert test[0] == "CMD", test
        command = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in test[1:]]
        return subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=30
        )


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# A step for the step page: Marketing lowers its locked funnel stage (SPEC.md §8's
# sequential example), which asks the next stage's owner to review the cascade.
STEP_SETUP = """
from decimal import Decimal
from hierarchy.models import Cycle, KeyResult
from notifications.models import Step
from okrplan.lib.tenancy import system_scope
from plans import services as ps

with system_scope():
    visitors = KeyResult.objects.get(title="Website visitors")
    ps.plan_update(kr=visitors, values=[Decimal(2400), Decimal(2400), Decimal(3200)],
                   version=visitors.plan.version, actor=visitors.owner,
                   rationale="Paid search budget cut")
    print("id cycle", Cycle.objects.get().pk)
    print("id kr", KeyResult.objects.get(title="Generate $5M in new pipeline").pk)
    print("id step", Step.objects.order_by("pk").first().pk)
"""


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Build:
    folder = tmp_path_factory.mktemp("image")
    database_url, redis_url, cache_url = _servers()
    venv, static_root = folder / "venv", folder / "staticfiles"
    started = time.monotonic()
    result = subprocess.run(
        ["sh", "docker/build.sh"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(folder)),
            "VENV": str(venv),
            "STATIC_ROOT": str(static_root),
            "OKRPLAN_VAR_DIR": str(folder / "var"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    print(f"\ndocker/build.sh: {time.monotonic() - started:.1f} s")
    env = {
        **_compose_environment(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_URL": cache_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        # what the image holds: its environment first on PATH, its static files, its var/
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(folder),
        "STATIC_ROOT": str(static_root),
        "OKRPLAN_VAR_DIR": str(folder / "var"),
    }
    assert env["DEBUG"] == "0"
    made = Build(venv=venv, static_root=static_root, env=env, ids={}, log=folder / "web.log")
    started = time.monotonic()
    made.manage("migrate", "--noinput")
    made.manage("load_demo")
    for line in made.manage("shell", "-c", STEP_SETUP).splitlines():
        if line.startswith("id "):
            _, name, value = line.split()
            made.ids[name] = int(value)
    print(f"migrate, load_demo and a step: {time.monotonic() - started:.1f} s")
    return made


@pytest.fixture(scope="module")
def served(build):
    process, port = build.serve(build.log)
    yield port
    _stop(process)


def test_it_serves_a_page_of_every_kind_with_debug_off(build, served):
    browser = Browser(served)
    assert browser.get("/accounts/login/")[0] == 200
    assert browser.get("/admin/login/")[0] == 200  # Django admin's own static files
    browser.log_in(*ADMIN)
    kr, cycle, step = build.ids["kr"], build.ids["cycle"], build.ids["step"]
    pages = [
        "/",
        "/o/acme/",
        "/o/acme/cycles/",
        f"/o/acme/cycles/{cycle}/",
        f"/o/acme/krs/{kr}/plan/",
        f"/o/acme/krs/{kr}/alignment/",
        f"/o/acme/krs/{kr}/history/",
        f"/o/acme/krs/{kr}/agenda/",
        f"/o/acme/steps/{step}/",
        "/o/acme/notifications/",
        "/o/acme/me/",
        "/o/acme/admin/members/",
        "/o/acme/admin/departments/",
        "/o/acme/admin/cycles/",
        "/o/acme/admin/settings/",
        "/o/acme/admin/rules/",
        "/o/acme/calendar/",
        "/o/acme/reports/quarterly/",
        "/api/docs/",
        "/api/docs/?script=",
        "/api/schema/",
        "/static/js/print.js",
    ]
    answers = {path: browser.get(path)[0] for path in pages}
    assert answers == dict.fromkeys(pages, 200), build.log.read_text()[-4000:]


def test_its_pages_link_hashed_static_files_that_answer(build, served):
    browser = Browser(served)
    _, _, page = browser.get("/accounts/login/")
    stylesheet = re.search(rb'<link rel="stylesheet" href="([^"]+)"', page).group(1).decode()
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", stylesheet), stylesheet
    status, headers, css = browser.get(stylesheet)
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert headers["Content-Encoding"] == "gzip"  # compressed at build time
    assert gzip.decompress(css) == (ROOT / "static/css/app.css").read_bytes()
    assert "immutable" in headers["Cache-Control"]  # a new file, a new name
    assert (build.static_root / stylesheet.removeprefix("/static/")).is_file()


def test_the_compose_healthcheck_passes_on_it(build, served):
    result = build.healthcheck(served)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_compose_healthcheck_fails_when_pages_fail(build, tmp_path):
    """Static files without their manifest, as the old image's `DEBUG=1 collectstatic` left
    them: every page answers 500, and so must the health check (it answered 200)."""
    static_root = tmp_path / "staticfiles"
    static_root.mkdir()
    process, port = build.serve(tmp_path / "web.log", workers=1, STATIC_ROOT=str(static_root))
    try:
        assert Browser(port).get("/accounts/login/")[0] == 500
        result = build.healthcheck(port)
        status, _, body = Browser(port).get("/healthz")
    finally:
        _stop(process)
    assert result.returncode != 0
    assert status == 503
    assert b"css/app.css" in body
