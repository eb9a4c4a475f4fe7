"""The profile page (/accounts/profile/, issue 14 item 1): display name, e-mail, time zone,
notification preference, and the password change (Django's view)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model

from hierarchy.models import NotifyBy, Profile
from okrplan.lib.text import ONE_LINE_MESSAGE
from tests.conftest import PASSWORD

User = get_user_model()
URL = "/accounts/profile/"
GOOD = {
    "first_name": "Maya",
    "last_name": "Lee",
    "email": "maya.lee@example.test",
    "time_zone": "Europe/Berlin",
    "notify_by": "in_app",
}


def test_it_shows_the_defaults_before_anything_is_saved(world, client):
    client.force_login(world.marketing_lead)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<nav class="crumbs" aria-label="Breadcrumb"><a href="/">' in page
    assert 'value="maya@example.test"' in page
    assert '<option value="" selected>UTC (the default)</option>' in page
    assert '<optgroup label="Europe">' in page
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in page
    assert 'value="email" checked' in page
    assert "One e-mail a day at 08:00 in your time zone" in page
    assert "Your next digest" not in page  # not chosen
    assert "show times in <strong>UTC</strong>" in page
    assert 'href="/accounts/password/change/"' in page
    assert not Profile.objects.exists()  # read, not created


def test_the_topbar_links_the_persons_name_to_their_profile(world, client):
    client.force_login(world.marketing_lead)
    page = client.get("/o/acme/").content.decode()
    assert (
        '<a href="/accounts/profile/">maya<span class="sr-only"> (your profile)</span></a>' in page
    )


def test_it_saves_the_profile_and_the_pages_name_the_person_by_it(world, client):
    client.force_login(world.marketing_lead)
    response = client.post(URL, GOOD)
    assert response.status_code == 302 and response["Location"] == URL
    maya = User.objects.get(username="maya")
    assert (maya.first_name, maya.last_name, maya.email) == ("Maya", "Lee", "maya.lee@example.test")
    profile = Profile.objects.get(user=maya)
    assert (profile.time_zone, profile.notify_by) == ("Europe/Berlin", NotifyBy.IN_APP)
    page = client.get(URL).content.decode()
    assert "Your profile was saved." in page
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in page
    assert 'value="in_app" checked' in page
    assert "show times in <strong>Europe/Berlin</strong>" in page
    assert 'Maya Lee<span class="sr-only"> (your profile)</span>' in page  # get_full_name
    home = client.get("/o/acme/").content.decode()
    assert "Maya Lee" in home  # the organization's pages too

    # back to the server's zone
    client.post(URL, {**GOOD, "time_zone": ""})
    assert Profile.objects.get(user=maya).time_zone == ""
    assert "show times in <strong>UTC</strong>" in client.get(URL).content.decode()


def test_choosing_the_digest_says_when_the_next_one_comes_in_the_persons_zone(world, client):
    client.force_login(world.marketing_lead)
    # Monday 8 June 2026, 23:30 UTC: Tuesday 08:30 in Tokyo, today's digest hour is past
    with time_machine.travel(datetime(2026, 6, 8, 23, 30, tzinfo=UTC), tick=False):
        response = client.post(URL, {**GOOD, "time_zone": "Asia/Tokyo", "notify_by": "digest"})
        assert response.status_code == 302
        page = client.get(URL).content.decode()
    assert Profile.objects.get(user=world.marketing_lead).notify_by == NotifyBy.DIGEST
    assert 'value="digest" aria-describedby="id_notify_by-digest-help" checked' in page
    assert (
        'Your next digest: <time datetime="2026-06-10T08:00:00+09:00">'
        "10 Jun 2026, 08:00 JST</time>." in page
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**GOOD, "email": ""}, "email", "Give an e-mail address"),
        ({**GOOD, "email": "nope"}, "email", "Enter a valid e-mail address."),
        ({**GOOD, "time_zone": "Mars/Olympus"}, "time_zone", "Choose a time zone from the list."),
        ({**GOOD, "notify_by": "pigeon"}, "notify_by", "Choose how you hear of notifications."),
        ({**GOOD, "notify_by": ""}, "notify_by", "Choose how you hear of notifications."),
        ({**GOOD, "first_name": "Ma\nya"}, "first_name", ONE_LINE_MESSAGE),
        ({**GOOD, "last_name": "L\u202eee"}, "last_name", ONE_LINE_MESSAGE),
        ({**GOOD, "first_name": "M" * 151}, "first_name", "at most 150 characters"),
    ],
)
def test_it_shows_each_refusal_next_to_its_field_and_writes_nothing(
    world, client, body, field, message
):
    client.force_login(world.marketing_lead)
    response = client.post(URL, body)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}-errors"' in page and message in page
    maya = User.objects.get(username="maya")
    assert (maya.first_name, maya.email) == ("", "maya@example.test")
    assert not Profile.objects.exists()
    assert 'maya<span class="sr-only">' in page  # the topbar: the name as stored


def test_it_refuses_an_iana_alias_the_list_does_not_offer(world, client):
    client.force_login(world.marketing_lead)
    response = client.post(URL, {**GOOD, "time_zone": "US/Eastern"})
    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()


def test_the_profile_is_the_callers_own(world, client):
    client.force_login(world.viewer)  # a viewer of acme edits their own profile
    assert client.post(URL, {**GOOD, "email": "v@example.test"}).status_code == 302
    assert User.objects.get(username="viewer").email == "v@example.test"
    assert User.objects.get(username="maya").email == "maya@example.test"


def test_it_wants_a_login(db, client):
    for method in ("get", "post"):
        response = getattr(client, method)(URL)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={URL}"


# --- The password change (Django's view) -------------------------------------------------

CHANGE = "/accounts/password/change/"
NEW = "a-brand-new-passphrase"


def test_it_changes_the_password_and_stays_logged_in(world, client):
    client.force_login(world.marketing_lead)
    assert client.get(CHANGE).status_code == 200
    response = client.post(
        CHANGE, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302 and response["Location"] == URL
    assert "Your password was changed." in client.get(URL).content.decode()
    assert User.objects.get(username="maya").check_password(NEW)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
         "old_password", "Your old password was entered incorrectly."),
        ({"old_password": PASSWORD, "new_password1": NEW, "new_password2": "other"},
         "new_password2", "The two password fields didn\u2019t match."),
        ({"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
         "new_password2", "This password is too short."),
    ],
)  # fmt: skip
def test_it_shows_a_refused_change_next_to_the_field(world, client, body, field, message):
    client.force_login(world.marketing_lead)
    response = client.post(CHANGE, body)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}-errors"' in page and message in page
    assert User.objects.get(username="maya").check_password(PASSWORD)
