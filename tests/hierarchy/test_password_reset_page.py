"""Password reset by e-mail (issue 14 item 1): Django's views with our templates, the
link e-mailed through Django's mail (the locmem outbox here) and followed end to end."""

import re

from django.contrib.auth import get_user_model
from django.core import mail

from tests.conftest import PASSWORD

User = get_user_model()
URL = "/accounts/password/reset/"
NEW = "a-brand-new-passphrase"


def _link() -> str:
    """The path of the link in the one e-mail sent (it starts with SITE_URL)."""
    assert len(mail.outbox) == 1
    found = re.findall(
        r"http://localhost:8000(/accounts/password/reset/\S+/\S+/)", mail.outbox[0].body
    )
    assert len(found) == 1, mail.outbox[0].body
    return found[0]


def test_it_mails_a_link_that_sets_a_new_password_once(world, client):
    assert client.get(URL).status_code == 200
    response = client.post(URL, {"email": "maya@example.test"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert "Check your e-mail" in client.get(response["Location"]).content.decode()
    message = mail.outbox[0]
    assert message.to == ["maya@example.test"]
    assert message.subject == "[okrplan] Choose a new password"
    assert "Hello maya," in message.body
    link = _link()

    # Django's confirm view moves the token from the path into the session, then asks
    opened = client.get(link)
    assert opened.status_code == 302
    form_url = opened["Location"]
    page = client.get(form_url).content.decode()
    assert "Choose a new password" in page and 'name="new_password1"' in page

    mismatch = client.post(form_url, {"new_password1": NEW, "new_password2": NEW + "x"})
    assert mismatch.status_code == 400
    assert "The two password fields didn\u2019t match." in mismatch.content.decode()
    assert 'id="id_new_password2-errors"' in mismatch.content.decode()

    done = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/password/reset/complete/"
    assert "Your password is set" in client.get(done["Location"]).content.decode()
    maya = User.objects.get(username="maya")
    assert maya.check_password(NEW) and not maya.check_password(PASSWORD)

    login = client.post("/accounts/login/", {"username": "maya", "password": NEW})
    assert login.status_code == 302
    client.post("/accounts/logout/")

    # the link works once
    again = client.get(link, follow=True).content.decode()
    assert "This link does not work (any more)" in again
    assert 'name="new_password1"' not in again


def test_it_answers_the_same_for_an_address_without_an_account(world, client):
    response = client.post(URL, {"email": "nobody@example.test"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_it_shows_a_bad_address_next_to_the_field(world, client):
    for body, message in (
        ({"email": ""}, "Give the e-mail address of your account."),
        ({"email": "not-an-address"}, "Enter a valid e-mail address."),
    ):
        response = client.post(URL, body)
        assert response.status_code == 400
        page = response.content.decode()
        assert message in page and 'id="id_email-errors"' in page
        assert 'aria-invalid="true"' in page
    assert mail.outbox == []


def test_a_made_up_link_says_it_does_not_work(world, client):
    response = client.get("/accounts/password/reset/MQ/made-up-token/")
    assert response.status_code == 200
    assert "This link does not work (any more)" in response.content.decode()
    response = client.post(
        "/accounts/password/reset/MQ/made-up-token/",
        {"new_password1": NEW, "new_password2": NEW},
    )
    assert "This link does not work (any more)" in response.content.decode()
    assert not any(user.check_password(NEW) for user in User.objects.all())


def test_it_limits_reset_e_mails_per_address(world, client, settings):
    settings.PASSWORD_RESET_RATE = "2/hour"
    for _ in range(2):
        assert client.post(URL, {"email": "maya@example.test"}).status_code == 302
    refused = client.post(URL, {"email": "MAYA@example.test"})  # the same address, any case
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "Too many password resets asked for this address. Try again in 3600 seconds." in page
    assert len(mail.outbox) == 2
    # another person's address from the same client is not held up
    assert client.post(URL, {"email": "sam@example.test"}).status_code == 302
    assert len(mail.outbox) == 3


def test_the_link_starts_with_site_url_not_the_requests_host(world, client, settings):
    settings.ALLOWED_HOSTS = ["evil.example", "testserver"]
    client.post(URL, {"email": "maya@example.test"}, HTTP_HOST="evil.example")
    assert "evil.example" not in mail.outbox[0].body
    assert _link()
