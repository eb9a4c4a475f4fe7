"""What the API answers to input that is not a request it can read (issue 13 item 7):
a 4xx in JSON with a message, never a 500 and never an HTML page."""

import pytest
from django.test import Client

DEEP = "[" * 5000 + "]" * 5000


def _assert_json_error(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    for word in words:
        assert word in detail


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/auth/register/"])
def test_it_refuses_deeply_nested_json_before_login(db, path):
    response = Client(raise_request_exception=False).post(
        path, DEEP, content_type="application/json"
    )
    _assert_json_error(response, 400, "nest more than 32 deep")


@pytest.mark.parametrize("depth", [33, 999, 1000, 100_000])
def test_it_refuses_deeply_nested_json_of_a_member(world, api, depth):
    body = '{"name": ' + "[" * depth + "]" * depth + "}"
    response = api(world.admin).generic(
        "POST", "/api/v1/orgs/acme/departments/", body, content_type="application/json"
    )
    _assert_json_error(response, 400, "nest more than 32 deep")


def test_it_reads_json_nested_as_deep_as_the_limit(world, api):
    body = '{"name": "Ops", "x": ' + "[" * 31 + "]" * 31 + "}"
    response = api(world.admin).generic(
        "POST", "/api/v1/orgs/acme/departments/", body, content_type="application/json"
    )
    assert response.status_code in (200, 400)
    assert "nest" not in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path", ["/api/v1/orgs/acme/krs/abc/", "/api/v1/orgs/acme/krs/1.5/", "/api/v1/nothing/"]
)
def test_it_answers_an_address_no_route_matches_with_json(world, api, settings, debug, path):
    settings.DEBUG = debug  # DEBUG's technical 404 page too (make run)
    _assert_json_error(api(world.admin).get(path), 404, "Not found")


def test_it_answers_a_body_of_a_type_it_does_not_take_with_json_415(world, api):
    for path in ("/api/v1/orgs/acme/departments/", "/api/v1/orgs/acme/imports/"):
        response = api(world.admin).generic("POST", path, "name=x", content_type="text/plain")
        _assert_json_error(response, 415, "Unsupported media type")


def test_it_answers_an_oversized_body_with_json_413(world, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "' + "x" * 2000 + '"}'
    for client in (api(), api(world.admin)):
        response = client.post("/api/v1/auth/token/", body, content_type="application/json")
        _assert_json_error(response, 413, "too large")
    response = api(world.admin).generic(
        "POST", "/api/v1/orgs/acme/departments/", body, content_type="application/json"
    )
    _assert_json_error(response, 413, "too large")


def test_pages_keep_their_html_not_found(world, client):
    client.force_login(world.admin)
    response = client.get("/orgs/acme/krs/abc/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
