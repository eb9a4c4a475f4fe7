"""The database going away under a running service (issue 8): requests answer 503 with
`Retry-After` (never a 500, never a page half-rendered), and once the database answers
again the very next request is served, with no restart of the web process.

The outage is real: the process's connection is closed and pointed at a port where
nothing listens, as when PostgreSQL restarts; then pointed back. PostgreSQL only: the
SQLite test database lives in memory and cannot be taken away from its own process.
"""

import socket

import pytest
from django.db import connection
from django.test import Client

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the outage is a PostgreSQL server going away")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def outage():
    """Take the database away from this process while the block runs."""

    class Outage:
        def __enter__(self):
            self.port = connection.settings_dict["PORT"]
            connection.close()
            connection.settings_dict["PORT"] = _closed_port()

        def __exit__(self, *exc):
            connection.close()
            connection.settings_dict["PORT"] = self.port

    return Outage()


def test_it_answers_503_while_the_database_is_away_and_recovers_after(world, outage):
    client = Client(raise_request_exception=False)
    client.force_login(world.marketing_lead)
    api = "/api/v1/orgs/acme/krs/"
    assert client.get(api).status_code == 200

    with outage:
        answers = [client.get(api), client.get("/o/acme/"), client.post(api, {})]

    for response in answers:
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
    assert answers[0].json() == {
        "detail": "okrplan cannot reach its database right now. Nothing was changed; "
        "try again in 5 seconds."
    }
    assert b"<h1>Back in a moment</h1>" in answers[1].content
    assert client.get(api).status_code == 200  # the same process, the next request
    assert client.get("/o/acme/").status_code == 200


def test_it_reports_the_database_down_on_healthz(client, outage):
    with outage:
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["db"] == "down"
