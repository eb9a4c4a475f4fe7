import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from okrplan.lib.env import env_bool, env_decimal, env_int, env_list, env_rate

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_the_deploy_check_without_warnings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x7-" + "q" * 60 + "-production-like-secret-9f2",
        ALLOWED_HOSTS="okrplan.example.com",
        OKRPLAN_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage("check", DEBUG="0", OKRPLAN_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_setting_fails_loudly_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG")
    monkeypatch.setenv("CONN_MAX_AGE", "a minute")
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE"):
        env_int("CONN_MAX_AGE", 60)
    monkeypatch.setenv("DEADLINE_SCAN_SECONDS", "nan")
    with pytest.raises(ImproperlyConfigured, match="DEADLINE_SCAN_SECONDS"):
        env_decimal("DEADLINE_SCAN_SECONDS", Decimal(60))
    monkeypatch.setenv("LOGIN_RATE", "ten a minute")
    with pytest.raises(ImproperlyConfigured, match="LOGIN_RATE"):
        env_rate("LOGIN_RATE", "10/min")


def test_settings_helpers_read_good_values(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    monkeypatch.setenv("SECONDS", "0.5")
    assert env_bool("FLAG") is True
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
    assert env_decimal("SECONDS", Decimal(60)) == Decimal("0.5")
    assert env_int("UNSET_VARIABLE_FOR_TEST", 7) == 7
    monkeypatch.setenv("LOGIN_RATE", "5/hour")
    assert env_rate("LOGIN_RATE", "10/min") == "5/hour"
    assert env_rate("UNSET_VARIABLE_FOR_TEST", "10/min") == "10/min"


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7-" + "q" * 60 + "-production-like-secret-9f2",
    "ALLOWED_HOSTS": "okrplan.example.com",
}


def test_production_cookies_and_transport_are_secure(tmp_path):
    names = [
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "SECURE_REFERRER_POLICY",
        "CONTENT_SECURITY_POLICY",
        "LOGIN_RATE",
    ]
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = _manage("shell", "-c", code, **PRODUCTION, OKRPLAN_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert "script-src 'self'" in values["CONTENT_SECURITY_POLICY"]
    assert "'unsafe-eval'" not in values["CONTENT_SECURITY_POLICY"]
    assert values["LOGIN_RATE"] == "10/min"


def test_every_page_and_api_answer_carries_the_security_headers(db, client):
    for url in ("/accounts/login/", "/api/v1/orgs/", "/api/docs/", "/healthz"):
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Referrer-Policy"] == "same-origin", url
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy, url
        assert "frame-ancestors 'none'" in policy, url


def _settings_of(names: list[str], **env) -> dict:
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = _manage("shell", "-c", code, **PRODUCTION, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_trusts_the_forwarded_protocol_only_behind_a_configured_proxy(tmp_path):
    """Without a proxy, a client's own `X-Forwarded-Proto: https` must not make a plain
    request count as HTTPS (and skip the redirect, or mark the cookies' request secure)."""
    names = ["SECURE_PROXY_SSL_HEADER"]
    assert _settings_of(names, OKRPLAN_VAR_DIR=str(tmp_path)) == {"SECURE_PROXY_SSL_HEADER": None}
    behind = _settings_of(
        names, OKRPLAN_VAR_DIR=str(tmp_path), SECURE_PROXY_HEADER="X-Forwarded-Proto"
    )
    assert behind == {"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}


def test_importing_the_settings_creates_no_directory(tmp_path):
    var = tmp_path / "var"
    assert _settings_of(["DEBUG"], OKRPLAN_VAR_DIR=str(var)) == {"DEBUG": False}
    assert not var.exists()


def test_migrate_creates_the_sqlite_files_folder(tmp_path):
    var = tmp_path / "var"
    clean = {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH"}
    env = {k: v for k, v in os.environ.items() if k not in clean | {"SECRET_KEY"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "DEBUG": "1", "OKRPLAN_VAR_DIR": str(var)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (var / "okrplan.sqlite3").exists()


def _webhook_settings(tmp_path, **env) -> dict:
    code = (
        "import json; from django.conf import settings; print(json.dumps({"
        "'private': settings.WEBHOOK_ALLOW_PRIVATE, "
        "'retries': [float(s) for s in settings.WEBHOOK_RETRY_SECONDS], "
        "'sweep': settings.CELERY_BEAT_SCHEDULE['webhook-sweep']['schedule']}))"
    )
    result = _manage("shell", "-c", code, OKRPLAN_VAR_DIR=str(tmp_path), **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_webhooks_refuse_private_addresses_in_production_and_allow_them_in_debug(tmp_path):
    production = _webhook_settings(tmp_path, **PRODUCTION)
    assert production["private"] is False
    assert production["retries"][0] <= 60 and sum(production["retries"]) >= 86400
    assert production["sweep"] == 10.0
    assert _webhook_settings(tmp_path, DEBUG="1")["private"] is True
    assert _webhook_settings(tmp_path, **PRODUCTION, WEBHOOK_ALLOW_PRIVATE="1")["private"] is True
    custom = _webhook_settings(tmp_path, DEBUG="1", WEBHOOK_RETRY_SECONDS="1, 2.5,4")
    assert custom["retries"] == [1.0, 2.5, 4.0]


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"WEBHOOK_RETRY_SECONDS": "30,soon"}, "WEBHOOK_RETRY_SECONDS='30,soon': 'soon'"),
        ({"WEBHOOK_RETRY_SECONDS": "30,0"}, "WEBHOOK_RETRY_SECONDS must be waits > 0"),
        ({"WEBHOOK_LEASE_SECONDS": "10"}, "WEBHOOK_LEASE_SECONDS must be longer"),
        ({"WEBHOOK_TIMEOUT_SECONDS": "0"}, "WEBHOOK_TIMEOUT_SECONDS and"),
    ],
)
def test_bad_webhook_settings_fail_loudly(tmp_path, env, words):
    result = _manage("check", DEBUG="1", OKRPLAN_VAR_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert words in result.stderr
