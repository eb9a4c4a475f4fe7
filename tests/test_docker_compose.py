"""docker-compose.yml describes the production topology; its commands must exist."""

import importlib
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict) -> list[str]:
    command = service["command"]
    if isinstance(command, str):
        command = shlex.split(command)
    if command[:2] == ["sh", "-c"]:
        command = shlex.split(command[2].split("&&")[-1])
    return command


def test_it_has_the_production_services():
    assert set(COMPOSE["services"]) == {"postgres", "redis", "web", "worker", "beat"}
    for name in ("web", "worker", "beat"):
        env = COMPOSE["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")


def test_web_runs_our_wsgi_application_under_gunicorn():
    command = _command(COMPOSE["services"]["web"])
    assert command[0] == "gunicorn"
    module, attribute = command[1].split(":")
    assert callable(getattr(importlib.import_module(module), attribute))


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_worker_and_beat_run_our_celery_app(service, subcommand):
    command = _command(COMPOSE["services"][service])
    assert command[:3] == ["celery", "-A", "okrplan"]
    assert command[3] == subcommand
    from celery import Celery

    assert isinstance(importlib.import_module("okrplan").celery_app, Celery)


def test_docker_compose_validates_it(tmp_path):
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (make sysdeps installs it)")
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={"SECRET_KEY": "x", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_http_benchmark_measures_the_web_service_as_deployed():
    from bench import http_load

    command = _command(COMPOSE["services"]["web"])

    def option(name):
        return command[command.index(name) + 1]

    assert int(option("--workers")) == http_load.WORKERS
    assert option("--worker-class") == http_load.WORKER_CLASS
    assert int(option("--threads")) == http_load.THREADS
