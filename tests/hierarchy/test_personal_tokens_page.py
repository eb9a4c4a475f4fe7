"""Personal API tokens on the profile page (issue 14 item 1): create with a name, the key
shown once, the list, revoke (plain forms and htmx)."""

import re

import pytest

from hierarchy import services
from hierarchy.models import PersonalToken

CREATE = "/accounts/profile/tokens/"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/accounts/profile/"}


def _key(page: str) -> str:
    found = re.findall(r'id="new-token-key" class="token-key"[^>]*>(okrp_[\w-]+)</textarea>', page)
    assert len(found) == 1, "the key is shown once, in its own box"
    return found[0]


def test_it_creates_a_token_and_shows_its_key_once(world, client, api):
    client.force_login(world.marketing_lead)
    response = client.post(CREATE, {"name": "CI pipeline"})
    assert response.status_code == 200  # the key is the answer: nothing to redirect to
    page = response.content.decode()
    key = _key(page)
    assert "Copy it now: it is shown only this once." in page
    token = PersonalToken.objects.get(user=world.marketing_lead)
    assert token.name == "CI pipeline"
    assert token.key_hash == PersonalToken.digest(key) and key not in token.key_hash
    assert token.prefix == key[:11]
    assert f"<code>{token.prefix}…</code>" in page

    # the list shows its name, its beginning and "never" used, never the key again
    again = client.get("/accounts/profile/").content.decode()
    assert key not in again
    assert '<th scope="row">CI pipeline</th>' in again and "never" in again

    # it works on the API
    caller = api()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert caller.get("/api/v1/orgs/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    listed = client.get("/accounts/profile/").content.decode()
    assert "never" not in listed.split('<th scope="row">CI pipeline</th>')[1].split("</tr>")[0]


def test_htmx_answers_the_tokens_section_with_the_key(world, client):
    client.force_login(world.marketing_lead)
    response = client.post(CREATE, {"name": "laptop"}, headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card" id="tokens"')
    assert "<html" not in page
    _key(page)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Name the token (what or where it is used)."),
        ("   ", "Name the token (what or where it is used)."),
        ("two\nlines", "Use one line: no line breaks or control characters."),
        ("x" * 101, "at most 100 characters"),
        ("taken", "You have a token of this name already."),
    ],
)
def test_it_shows_a_refused_name_next_to_the_field_and_makes_nothing(world, client, name, message):
    services.personal_token_create(user=world.marketing_lead, name="taken")
    client.force_login(world.marketing_lead)
    for headers, status in (({}, 400), (HTMX, 200)):
        response = client.post(CREATE, {"name": name}, headers=headers)
        assert response.status_code == status
        page = response.content.decode()
        assert message in page and 'id="id_name-errors"' in page
        assert "okrp_" not in page.split('id="tokens"')[1].split("<table")[0]
    assert PersonalToken.objects.count() == 1


def test_it_limits_how_many_tokens_a_person_keeps(world, client):
    for n in range(services.PERSONAL_TOKENS_MAX):
        services.personal_token_create(user=world.marketing_lead, name=f"t{n}")
    client.force_login(world.marketing_lead)
    response = client.post(CREATE, {"name": "one more"})
    assert response.status_code == 400
    assert "You have 50 tokens: revoke one you no longer use." in response.content.decode()


def test_it_revokes_a_token_which_then_answers_401(world, client, api):
    token, key = services.personal_token_create(user=world.marketing_lead, name="old script")
    caller = api()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert caller.get("/api/v1/orgs/").status_code == 200
    client.force_login(world.marketing_lead)
    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/#tokens"
    assert (
        "Token “old script” revoked: it no longer works."
        in client.get("/accounts/profile/").content.decode()
    )
    assert not PersonalToken.objects.exists()
    assert caller.get("/api/v1/orgs/").status_code == 401  # at once


def test_htmx_revokes_in_place(world, client):
    token, _ = services.personal_token_create(user=world.marketing_lead, name="old script")
    client.force_login(world.marketing_lead)
    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/", headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "revoked: it no longer works." in page and "No personal tokens yet." in page


def test_somebody_elses_token_is_missing(world, client):
    token, _ = services.personal_token_create(user=world.marketing_lead, name="maya-only")
    for caller in (world.admin, world.outsider):
        client.force_login(caller)
        response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")
        assert response.status_code == 404
        assert "maya-only" not in client.get("/accounts/profile/").content.decode()
    assert PersonalToken.objects.filter(pk=token.pk).exists()
    client.force_login(world.marketing_lead)
    assert client.post("/accounts/profile/tokens/999999/revoke/").status_code == 404


def test_the_token_routes_want_a_login_and_a_post(world, client):
    token, _ = services.personal_token_create(user=world.marketing_lead, name="mine")
    for url in (CREATE, f"/accounts/profile/tokens/{token.pk}/revoke/"):
        assert client.post(url)["Location"].startswith("/accounts/login/?next=")
        client.force_login(world.marketing_lead)
        assert client.get(url).status_code == 405
        client.logout()
    assert PersonalToken.objects.count() == 1
