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


# --- The image (Dockerfile, .dockerignore); tests/test_image.py builds and serves it -----


def _stages() -> dict[str, list[str]]:
    """The Dockerfile's instructions by stage name (continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = line.split()[-1]
            stages[current] = []
        if current is not None:
            stages[current].append(line)
    return stages


def test_the_image_is_built_by_docker_build_sh_and_runs_without_root():
    stages = _stages()
    assert list(stages) == ["build", "run"]
    runs = [line for line in stages["build"] if line.startswith("RUN ")]
    assert runs and all(line.startswith("RUN sh docker/build.sh") for line in runs), runs
    run_stage = stages["run"]
    assert not any("pip install" in line or "collectstatic" in line for line in run_stage)
    assert any(line.startswith("COPY --from=build /opt/venv") for line in run_stage)
    users = [line.split()[1] for line in run_stage if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}


def test_the_image_leaves_out_local_environments_and_state():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for name in (".git", ".venv", "var", "staticfiles", "test-artifacts", "*.egg-info"):
        assert name in ignored, name
