"""Invitations (API.md §Invitations): nobody becomes a member without saying yes, and
nothing of a person is shown to an organization they have not joined (issue 13, item 3)."""

import re
from datetime import timedelta

import time_machine
from django.core import mail
from django.utils import timezone

from hierarchy.models import Invitation, Membership, Role
from notifications.models import Notification
from notifications.services import email_deliver
from tests.conftest import make_user

MEMBERS = "/api/v1/orgs/acme/members/"
INVITATIONS = "/api/v1/orgs/acme/invitations/"
MINE = "/api/v1/invitations/"


def _link_token(message: str) -> str:
    return re.search(r"/join/([\w-]+)/", message).group(1)


def test_the_invitee_accepts_and_is_a_member_from_then_on(world, api):
    alice = make_user("alice", first_name="Alice")
    invited = api(world.admin).post(MEMBERS, {"username": "alice", "role": "viewer"}).json()
    assert api(alice).get("/api/v1/orgs/acme/").status_code == 404  # not yet

    mine = api(alice).get(MINE).json()
    assert mine["count"] == 1
    entry = mine["results"][0]
    assert entry["id"] == invited["id"]
    assert entry["organization"] == {"slug": "acme", "name": "Acme"}
    assert entry["role"] == "viewer" and entry["invited_by"] == "admin"

    accepted = api(alice).post(f"{MINE}{invited['id']}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["organization"] == {"slug": "acme", "name": "Acme"}
    assert accepted.json()["role"] == "viewer"
    assert Membership.objects.get(organization=world.org, user=alice).role == Role.VIEWER
    assert api(alice).get("/api/v1/orgs/acme/").status_code == 200
    assert api(alice).get(MINE).json()["count"] == 0
    again = api(alice).post(f"{MINE}{invited['id']}/accept/")
    assert again.status_code == 400  # answered already
    listed = api(world.admin).get(INVITATIONS).json()["results"]
    assert [(i["username"], i["status"]) for i in listed] == [("alice", "accepted")]


def test_the_invitee_declines_and_nothing_changes(world, api):
    alice = make_user("alice")
    invited = api(world.admin).post(MEMBERS, {"username": "alice", "role": "member"}).json()
    declined = api(alice).post(f"{MINE}{invited['id']}/decline/")
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert not Membership.objects.filter(user=alice).exists()
    assert api(alice).post(f"{MINE}{invited['id']}/accept/").status_code == 400
    listed = api(world.admin).get(INVITATIONS).json()["results"]
    assert listed[0]["status"] == "declined"


def test_nobody_else_can_answer_or_see_an_invitation(world, api):
    alice = make_user("alice")
    invited = api(world.admin).post(MEMBERS, {"username": "alice", "role": "admin"}).json()
    for stranger in (world.outsider, world.member, make_user("mallory")):
        assert api(stranger).get(MINE).json()["count"] == 0
        assert api(stranger).post(f"{MINE}{invited['id']}/accept/").status_code == 404
        assert api(stranger).post(f"{MINE}{invited['id']}/decline/").status_code == 404
    assert api().get(MINE).status_code == 401
    assert api().post(f"{MINE}{invited['id']}/accept/").status_code == 401
    assert not Membership.objects.filter(user__username="mallory").exists()
    assert Invitation.objects.get(pk=invited["id"]).status == "pending"
    assert api(alice).get(MINE).json()["count"] == 1


def test_an_unknown_name_gets_the_same_answer_and_tells_nobody(world, api):
    response = api(world.admin).post(MEMBERS, {"username": "ghost", "role": "member"})
    assert response.status_code == 201 and response.json()["status"] == "pending"
    assert not Notification.objects.filter(kind="invitation").exists()
    listed = api(world.admin).get(INVITATIONS).json()["results"]
    assert [(i["username"], i["status"]) for i in listed] == [("ghost", "pending")]


def test_the_invitee_is_told_in_the_app_and_by_email_with_the_link(world, api, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://okr.example.test"
    alice = make_user("alice")
    api(world.admin).post(MEMBERS, {"username": "alice", "role": "member"})
    invitation = Invitation.objects.get()
    notification = Notification.objects.get(kind="invitation")
    assert notification.user == alice and notification.organization == world.org
    email_deliver()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["alice@example.test"]
    assert "invited you to join Acme as member" in sent.body
    assert f"https://okr.example.test/join/{invitation.token}/" in sent.body


def test_someone_without_an_account_signs_up_through_the_link_and_joins_on_accepting(
    world, api, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = api(world.admin).post(INVITATIONS, {"email": "nora@example.test", "role": "member"})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "nora@example.test" and body["status"] == "pending"
    assert body["expires_at"]
    email_deliver()
    assert mail.outbox[0].to == ["nora@example.test"]
    token = _link_token(mail.outbox[0].body)

    signed_up = api().post(
        "/api/v1/auth/register/",
        {
            "username": "nora",
            "email": "nora@example.test",
            "password": "a-long-and-unusual-passphrase",
            "invitation": token,
        },
    )
    assert signed_up.status_code == 201
    nora = api()
    nora.credentials(HTTP_AUTHORIZATION=f"Token {signed_up.json()['token']}")
    assert not Membership.objects.filter(user__username="nora").exists()  # not before yes
    mine = nora.get(MINE).json()
    assert mine["count"] == 1 and mine["results"][0]["id"] == body["id"]
    assert nora.post(f"{MINE}{body['id']}/accept/").status_code == 200
    assert Membership.objects.filter(organization=world.org, user__username="nora").exists()


def test_a_link_token_cannot_be_used_twice_or_made_up(world, api):
    api(world.admin).post(INVITATIONS, {"email": "nora@example.test", "role": "member"})
    token = Invitation.objects.get().token
    body = {"email": "x@example.test", "password": "a-long-and-unusual-passphrase"}
    made_up = api().post("/api/v1/auth/register/", {**body, "username": "a", "invitation": "x"})
    assert made_up.status_code == 400 and "invitation" in made_up.json()
    first = api().post("/api/v1/auth/register/", {**body, "username": "b", "invitation": token})
    assert first.status_code == 201
    second = api().post("/api/v1/auth/register/", {**body, "username": "c", "invitation": token})
    assert second.status_code == 400 and "invitation" in second.json()
    assert Invitation.objects.get().invitee.username == "b"


def test_invitations_expire(world, api, settings):
    settings.INVITATION_DAYS = 14
    alice = make_user("alice")
    invited = api(world.admin).post(MEMBERS, {"username": "alice", "role": "member"}).json()
    with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1)):
        assert api(alice).get(MINE).json()["count"] == 0
        refused = api(alice).post(f"{MINE}{invited['id']}/accept/")
        assert refused.status_code == 400
        assert "expired" in refused.json()["detail"][0]
        assert not Membership.objects.filter(user=alice).exists()
        listed = api(world.admin).get(INVITATIONS).json()["results"]
        assert listed[0]["status"] == "expired"
        # expired: it can be sent again
        again = api(world.admin).post(MEMBERS, {"username": "alice", "role": "member"})
        assert again.status_code == 201


def test_an_admin_withdraws_a_pending_invitation(world, api, settings):
    alice = make_user("alice")
    invited = api(world.admin).post(MEMBERS, {"username": "alice", "role": "member"}).json()
    url = f"{INVITATIONS}{invited['id']}/"
    assert api(world.member).delete(url).status_code == 403
    assert api(world.outsider).delete(url).status_code == 404
    assert api(world.admin).delete(url).status_code == 204
    assert api(world.admin).get(INVITATIONS).json()["count"] == 0
    assert api(world.admin).delete(url).status_code == 404
    assert api(alice).get(MINE).json()["count"] == 0
    assert api(alice).post(f"{MINE}{invited['id']}/accept/").status_code == 400
    assert not Membership.objects.filter(user=alice).exists()
    assert not Notification.objects.filter(kind="invitation").exists()  # no e-mail goes out


def test_an_answered_invitation_cannot_be_withdrawn(world, api):
    alice = make_user("alice")
    invited = api(world.admin).post(MEMBERS, {"username": "alice", "role": "member"}).json()
    api(alice).post(f"{MINE}{invited['id']}/accept/")
    refused = api(world.admin).delete(f"{INVITATIONS}{invited['id']}/")
    assert refused.status_code == 400
    assert Membership.objects.filter(user=alice, organization=world.org).exists()


def test_a_pending_invitation_is_not_sent_twice_and_members_are_refused(world, api):
    make_user("alice")
    first = api(world.admin).post(MEMBERS, {"username": "alice", "role": "member"})
    assert first.status_code == 201
    twice = api(world.admin).post(MEMBERS, {"username": "ALICE", "role": "member"})
    assert twice.status_code == 400 and "pending" in twice.json()["username"][0]
    member = api(world.admin).post(INVITATIONS, {"email": "maya@example.test", "role": "member"})
    assert member.status_code == 400 and "email" in member.json()
    assert Invitation.objects.count() == 1


def test_only_admins_see_and_send_invitations(world, api):
    for who in (world.member, world.viewer, world.marketing_lead):
        assert api(who).get(INVITATIONS).status_code == 403
        response = api(who).post(INVITATIONS, {"email": "x@example.test", "role": "member"})
        assert response.status_code == 403
    assert api(world.outsider).get(INVITATIONS).status_code == 404
    assert not Invitation.objects.exists()


def test_an_invitation_by_email_is_refused_with_bad_input(world, api):
    for body, field in [
        ({"email": "not-an-address", "role": "member"}, "email"),
        ({"email": "x@example.test", "role": "owner"}, "role"),
        ({"role": "member"}, "email"),
    ]:
        response = api(world.admin).post(INVITATIONS, body, format="json")
        assert response.status_code == 400 and field in response.json()
    assert not Invitation.objects.exists()
