"""The API takes personal tokens (hierarchy.PersonalToken) beside the account's token
(POST /api/v1/auth/token/, unchanged): `Authorization: Token <key>` either way."""

from datetime import timedelta

import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token

from hierarchy import services
from hierarchy.models import PersonalToken
from tests.conftest import PASSWORD


def _caller(api, key):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_personal_token_acts_as_its_person_in_their_organizations(world, api):
    _, key = services.personal_token_create(user=world.marketing_lead, name="script")
    caller = _caller(api, key)
    orgs = caller.get("/api/v1/orgs/")
    assert orgs.status_code == 200
    assert [o["slug"] for o in orgs.json()["results"]] == ["acme"]
    assert caller.get("/api/v1/orgs/acme/departments/").status_code == 200
    assert caller.get("/api/v1/orgs/globex/departments/").status_code == 404


def test_the_key_is_not_stored_only_its_hash(world):
    token, key = services.personal_token_create(user=world.marketing_lead, name="script")
    stored = PersonalToken.objects.filter(pk=token.pk).values()[0]
    assert key not in [str(value) for value in stored.values()]
    assert stored["key_hash"] == PersonalToken.digest(key)
    assert key.startswith("okrp_") and len(key) > 40


def test_a_revoked_token_answers_401_at_once(world, api):
    token, key = services.personal_token_create(user=world.marketing_lead, name="script")
    _, other_key = services.personal_token_create(user=world.marketing_lead, name="other")
    caller = _caller(api, key)
    assert caller.get("/api/v1/orgs/").status_code == 200
    services.personal_token_revoke(token=token)
    response = caller.get("/api/v1/orgs/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert _caller(api, other_key).get("/api/v1/orgs/").status_code == 200  # the others work


def test_an_unknown_or_mangled_personal_key_answers_401(world, api):
    _, key = services.personal_token_create(user=world.marketing_lead, name="script")
    for wrong in ("okrp_" + "x" * 43, key[:-1], key + "x", key.upper()):
        response = _caller(api, wrong).get("/api/v1/orgs/")
        assert response.status_code == 401, wrong
        assert response.json() == {"detail": "Invalid token."}


def test_an_inactive_persons_token_answers_401(world, api):
    _, key = services.personal_token_create(user=world.marketing_lead, name="script")
    world.marketing_lead.is_active = False
    world.marketing_lead.save()
    response = _caller(api, key).get("/api/v1/orgs/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


def test_the_accounts_token_endpoint_and_its_token_keep_working(world, api):
    services.personal_token_create(user=world.marketing_lead, name="script")
    response = api().post("/api/v1/auth/token/", {"username": "maya", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=world.marketing_lead).key}
    assert _caller(api, response.json()["token"]).get("/api/v1/orgs/").status_code == 200
    # asked again: the same one (one per account, as before)
    again = api().post("/api/v1/auth/token/", {"username": "maya", "password": PASSWORD})
    assert again.json() == response.json()


def test_the_last_use_is_written_at_most_once_a_minute(world, api):
    token, key = services.personal_token_create(user=world.marketing_lead, name="script")
    caller = _caller(api, key)
    with time_machine.travel("2026-02-02 09:00:00+00:00", tick=False) as clock:
        caller.get("/api/v1/orgs/")
        token.refresh_from_db()
        assert token.last_used_at == timezone.now()
        first = token.last_used_at
        clock.shift(30)
        caller.get("/api/v1/orgs/")
        token.refresh_from_db()
        assert token.last_used_at == first  # not written again within the minute
        clock.shift(timedelta(seconds=31))
        caller.get("/api/v1/orgs/")
        token.refresh_from_db()
        assert token.last_used_at == first + timedelta(seconds=61)
