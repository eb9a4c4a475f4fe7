"""Sessions with a shared cache (CACHE_URL): read from Redis, written through to the
database, ended everywhere by a logout."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import PASSWORD
from tests.workers import redis_test_url


@pytest.fixture
def redis_sessions(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_test_url(10),
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def _logged_in(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_a_page_reads_its_session_from_the_cache_not_the_database(world, redis_sessions):
    client = _logged_in("maya")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/o/acme/").status_code == 200
    assert not [q for q in queries if "django_session" in q["sql"]]


def test_the_session_is_kept_in_the_database_too(world, redis_sessions):
    from django.core.cache import cache

    client = _logged_in("maya")
    cache.clear()  # Redis restarted empty: the session is read back from the database
    assert client.get("/o/acme/").status_code == 200


def test_a_logout_ends_the_session_for_every_process(world, redis_sessions):
    client = _logged_in("maya")
    stolen = Client()
    stolen.cookies["sessionid"] = client.cookies["sessionid"].value
    assert stolen.get("/o/acme/").status_code == 200

    assert client.post("/accounts/logout/").status_code in (200, 302)
    after = stolen.get("/o/acme/")
    assert after.status_code == 302
    assert after["Location"].startswith("/accounts/login/")
