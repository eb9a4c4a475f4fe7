"""The invitee's pages: the invitations in the inbox (and on the home page), answered with
htmx or plain forms, and the e-mailed link /join/<token>/ (issue 13, item 3)."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from hierarchy import services
from hierarchy.models import Invitation, Membership
from tests.conftest import make_user


def _invite(world, **who) -> Invitation:
    return services.invitation_create(org=world.org, actor=world.admin, role="member", **who)


def test_the_inbox_and_the_home_page_show_the_invitation_with_both_answers(world, client):
    invitation = _invite(world, username="outsider")  # globex's admin, invited to acme
    client.force_login(world.outsider)
    for url in ("/o/globex/notifications/", "/"):
        page = client.get(url).content.decode()
        assert f'id="invitation-{invitation.pk}"' in page
        assert "invited you to join <strong>Acme</strong> as member" in page
        assert f'action="/invitations/{invitation.pk}/accept/"' in page
        assert f'hx-post="/invitations/{invitation.pk}/decline/"' in page
    client.force_login(world.member)  # nobody else's inbox shows it
    assert (
        f'id="invitation-{invitation.pk}"'
        not in client.get("/o/acme/notifications/").content.decode()
    )


def test_accepting_without_js_goes_back_to_the_inbox_as_a_member(world, client):
    invitation = _invite(world, username="outsider")
    client.force_login(world.outsider)
    response = client.post(
        f"/invitations/{invitation.pk}/accept/", {"next": "/o/globex/notifications/"}
    )
    assert response.status_code == 302 and response["Location"] == "/o/globex/notifications/"
    assert Membership.objects.filter(organization=world.org, user=world.outsider).exists()
    page = client.get("/o/globex/notifications/").content.decode()
    assert "You are now a member of Acme." in page
    assert f'id="invitation-{invitation.pk}"' not in page
    assert client.get("/o/acme/").status_code == 200


def test_answering_with_htmx_swaps_the_row(world, client):
    invitation = _invite(world, username="outsider")
    client.force_login(world.outsider)
    response = client.post(f"/invitations/{invitation.pk}/decline/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and html.strip().startswith(f'<li id="invitation-{invitation.pk}"')
    assert "You declined the invitation to Acme." in html
    assert not Membership.objects.filter(organization=world.org, user=world.outsider).exists()
    again = client.post(f"/invitations/{invitation.pk}/accept/", HTTP_HX_REQUEST="true")
    assert "This invitation was declined already." in again.content.decode()


def test_nobody_else_can_answer(world, client):
    invitation = _invite(world, username="outsider")
    client.force_login(world.member)
    assert client.post(f"/invitations/{invitation.pk}/accept/").status_code == 404
    assert client.get(f"/join/{invitation.token}/").status_code == 404
    assert client.post(f"/join/{invitation.token}/", {"answer": "accept"}).status_code == 404
    assert client.get("/join/made-up-token/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_the_link_accepts_for_the_invitee_logged_in(world, client):
    invitation = _invite(world, username="outsider")
    client.force_login(world.outsider)
    page = client.get(f"/join/{invitation.token}/").content.decode()
    assert '<h1 id="invitation-h">Join Acme</h1>' in page
    assert 'name="answer" value="accept"' in page and 'name="answer" value="decline"' in page
    response = client.post(f"/join/{invitation.token}/", {"answer": "accept"})
    assert response.status_code == 302 and response["Location"] == "/o/acme/"
    assert Membership.objects.filter(organization=world.org, user=world.outsider).exists()
    assert (
        "You accepted this invitation" in client.get(f"/join/{invitation.token}/").content.decode()
    )


def test_someone_without_an_account_signs_up_through_the_link_then_accepts(world, client):
    invitation = _invite(world, email="nora@example.test")
    page = client.get(f"/join/{invitation.token}/").content.decode()
    assert f'href="/accounts/login/?next=/join/{invitation.token}/"' in page
    assert 'value="nora@example.test"' in page and "Sign up" in page
    response = client.post(
        f"/join/{invitation.token}/signup/",
        {"username": "nora", "email": "nora@example.test", "password": "a-long-unusual-pass"},
    )
    assert response.status_code == 302 and response["Location"] == f"/join/{invitation.token}/"
    assert not Membership.objects.filter(user__username="nora").exists()  # not before yes
    page = client.get(f"/join/{invitation.token}/").content.decode()
    assert 'name="answer" value="accept"' in page
    client.post(f"/join/{invitation.token}/", {"answer": "accept"})
    assert Membership.objects.filter(organization=world.org, user__username="nora").exists()


def test_the_signup_form_names_the_field_it_refuses(world, client):
    invitation = _invite(world, email="nora@example.test")
    response = client.post(
        f"/join/{invitation.token}/signup/",
        {"username": "MAYA", "email": "nora@example.test", "password": "a-long-unusual-pass"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This username is taken." in page and 'aria-invalid="true"' in page
    invitation.refresh_from_db()
    assert invitation.invitee is None


def test_signing_up_is_limited_per_address(world, client, settings):
    settings.REGISTER_RATE = "1/hour"
    invitation = _invite(world, email="nora@example.test")
    url = f"/join/{invitation.token}/signup/"
    client.post(url, {"username": "x", "email": "x@example.test", "password": "short"})
    refused = client.post(
        url, {"username": "nora", "email": "nora@example.test", "password": "a-long-unusual-pass"}
    )
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many sign-ups from this address. Try again in 3600 seconds." in (
        refused.content.decode()
    )
    assert not Membership.objects.filter(user__username="nora").exists()


def test_an_expired_link_says_so_and_cannot_be_accepted(world, client):
    invitation = _invite(world, username="outsider")
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        client.force_login(world.outsider)
        page = client.get(f"/join/{invitation.token}/").content.decode()
        assert "This invitation expired on" in page
        assert 'name="answer"' not in page
        response = client.post(f"/join/{invitation.token}/", {"answer": "accept"}, follow=True)
        assert "This invitation expired on" in response.content.decode()
        assert f'id="invitation-{invitation.pk}"' not in client.get("/").content.decode()
    assert not Membership.objects.filter(organization=world.org, user=world.outsider).exists()


def test_a_withdrawn_link_says_so(world, client):
    invitation = _invite(world, email="nora@example.test")
    services.invitation_withdraw(invitation=invitation)
    page = client.get(f"/join/{invitation.token}/").content.decode()
    assert "This invitation was withdrawn." in page and "Sign up" not in page
    make_user("nora")
