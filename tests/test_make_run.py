"""`make run`, as a new user runs it: set-up, demo, web and worker, Ctrl-C stops all."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


def _servers_env(tmp_path) -> dict:
    """A fresh PostgreSQL database and a Redis database of their own."""
    import psycopg
    import redis

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP DATABASE IF EXISTS okrplan_make_run WITH (FORCE)")
            conn.execute("CREATE DATABASE okrplan_make_run")
        redis.Redis.from_url("redis://127.0.0.1:6379/14", socket_timeout=2).flushdb()
    except (psycopg.OperationalError, redis.RedisError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL or Redis is not answering here: {error}")
    return {
        "DATABASE_URL": admin_url.rsplit("/", 1)[0] + "/okrplan_make_run",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
    }


@pytest.mark.once
@pytest.mark.parametrize("services", ["embedded", "servers"])
def test_make_run_serves_the_demo_and_stops_on_ctrl_c(tmp_path, services):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    }
    env.update(PORT=str(port), OKRPLAN_VAR_DIR=str(tmp_path), DEADLINE_SCAN_SECONDS="1")
    if services == "servers":
        env.update(_servers_env(tmp_path))
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline:
            try:
                health = _request(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        assert health == (200, {"db": "ok", "broker": "ok"}), log.read_text()[-3000:]
        status, body = _request(
            f"http://127.0.0.1:{port}/api/v1/auth/token/",
            {"username": "victor", "password": "okrplan-demo"},
        )
        assert status == 200 and body["token"]
        while time.monotonic() < deadline and "ready." not in log.read_text():
            time.sleep(0.5)
        output = log.read_text()
        assert "ready." in output, "the Celery worker did not start:\n" + output[-3000:]
        assert f"http://127.0.0.1:{port}/" in output
        assert "alice" in output and "okrplan-demo" in output
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("make run did not stop on Ctrl-C")
    time.sleep(1)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the process group is left
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the web server is still listening"
