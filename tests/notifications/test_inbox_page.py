"""The notifications inbox page (/o/<org>/notifications/) and the unread badge."""

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import Notification, NotificationKind
from notifications.services import notification_create


def notify(user, org, key: str, message: str = "Something changed", **extra) -> Notification:
    return notification_create(
        organization_id=org.pk,
        user_id=user.pk,
        kind=extra.pop("kind", NotificationKind.CHANGE),
        key=key,
        message=message,
        **extra,
    )


def inbox_url(org="acme") -> str:
    return f"/o/{org}/notifications/"


def read_url(n, org="acme") -> str:
    return f"/o/{org}/notifications/{n.pk}/read/"


def test_it_lists_only_my_notifications_newest_first(world, client):
    notify(world.owner, world.org, "a", "First for the owner")
    notify(world.owner, world.org, "b", "Second for the owner", kind=NotificationKind.REMINDER)
    notify(world.member, world.org, "c", "For the member")
    notify(world.outsider, world.other_org, "a", "For Globex")
    client.force_login(world.owner)
    response = client.get(inbox_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "First for the owner" in html and "Second for the owner" in html
    assert "For the member" not in html and "For Globex" not in html
    assert html.index("Second for the owner") < html.index("First for the owner")
    assert "Reminder" in html and "Change" in html  # the kinds' labels
    assert html.count('class="inbox-row unread"') == 2
    assert 'href="/o/acme/notifications/?unread=1"' in html
    assert "Mark all as read" in html


def test_it_links_to_the_combined_view_only_for_a_kr_with_children(planning, world, client):
    leaf = planning.marketing_kr
    notify(world.owner, world.org, "parent", "About the pipeline", kr_id=planning.pipeline.pk)
    notify(world.owner, world.org, "leaf", "About marketing", kr_id=leaf.pk)
    notify(world.owner, world.org, "none", "About nothing")
    client.force_login(world.owner)
    html = client.get(inbox_url()).content.decode()
    assert reverse("kr-alignment", args=["acme", planning.pipeline.pk]) in html
    assert reverse("kr-alignment", args=["acme", leaf.pk]) not in html
    assert html.count("Combined view of") == 1


def test_it_filters_unread_only(world, client):
    read = notify(world.owner, world.org, "a", "Already read")
    notify(world.owner, world.org, "b", "Still unread")
    client.force_login(world.owner)
    client.post(read_url(read))
    html = client.get(inbox_url() + "?unread=1").content.decode()
    assert "Still unread" in html and "Already read" not in html
    html = client.get(inbox_url()).content.decode()
    assert "Still unread" in html and "Already read" in html


def test_it_paginates_by_fifty_with_real_links(world, client):
    for i in range(55):
        notify(world.owner, world.org, f"k{i}", f"Message number {i:02d}.")
    client.force_login(world.owner)
    html = client.get(inbox_url()).content.decode()
    assert html.count('class="inbox-row unread"') == 50
    assert 'href="?page=2"' in html and "Page 1 of 2" in html
    html = client.get(inbox_url() + "?page=2").content.decode()
    assert html.count('class="inbox-row unread"') == 5
    assert "Message number 00." in html and 'href="?page=1"' in html
    html = client.get(inbox_url() + "?unread=1").content.decode()
    assert 'href="?unread=1&amp;page=2"' in html


def test_it_marks_one_read_and_redirects_back_without_js(world, client):
    n = notify(world.owner, world.org, "a")
    client.force_login(world.owner)
    response = client.post(read_url(n), {"next": "/o/acme/notifications/?unread=1"})
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/notifications/?unread=1"
    n.refresh_from_db()
    assert n.read_at is not None


def test_it_does_not_redirect_elsewhere(world, client):
    n = notify(world.owner, world.org, "a")
    client.force_login(world.owner)
    response = client.post(read_url(n), {"next": "https://evil.example/"})
    assert response["Location"] == "/o/acme/notifications/"


def test_it_returns_the_row_and_the_badge_for_htmx(world, client):
    n = notify(world.owner, world.org, "a", "Read me")
    notify(world.owner, world.org, "b", "Still unread")
    client.force_login(world.owner)
    response = client.post(read_url(n), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'id="notification-{n.pk}"' in html and "Read me" in html
    assert "inbox-row unread" not in html and "Mark as read" not in html
    assert 'id="unread-badge"' in html and 'hx-swap-oob="true"' in html
    assert 'aria-label="1 unread notification"' in html
    n.refresh_from_db()
    assert n.read_at is not None


def test_it_marks_all_read(world, client):
    for key in ("a", "b", "c"):
        notify(world.owner, world.org, key)
    mine_elsewhere = notify(world.member, world.org, "d")
    client.force_login(world.owner)
    response = client.post(f"{inbox_url()}read-all/")
    assert response.status_code == 302 and response["Location"] == inbox_url()
    assert not Notification.objects.filter(user=world.owner, read_at__isnull=True).exists()
    mine_elsewhere.refresh_from_db()
    assert mine_elsewhere.read_at is None
    html = client.get(inbox_url()).content.decode()
    assert "Marked 3 notifications as read." in html
    assert "inbox-row unread" not in html and "Mark all as read" not in html


def test_it_lets_a_viewer_read_and_mark_their_own(world, client):
    n = notify(world.viewer, world.org, "a", "For the viewer")
    client.force_login(world.viewer)
    assert "For the viewer" in client.get(inbox_url()).content.decode()
    assert client.post(read_url(n)).status_code == 302
    assert client.post(f"{inbox_url()}read-all/").status_code == 302


def test_it_404s_for_another_users_notification(world, client):
    theirs = notify(world.member, world.org, "a")
    client.force_login(world.owner)
    assert client.post(read_url(theirs)).status_code == 404
    assert client.post(read_url(theirs), HTTP_HX_REQUEST="true").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_404s_for_an_outsider_and_a_foreign_notification(world, client):
    mine = notify(world.owner, world.org, "a")
    foreign = notify(world.outsider, world.other_org, "a")
    client.force_login(world.outsider)
    assert client.get(inbox_url()).status_code == 404
    assert client.post(read_url(mine)).status_code == 404
    assert client.post(f"{inbox_url()}read-all/").status_code == 404
    # Globex's notification through acme's URL: the same 404 as a missing one.
    client.force_login(world.owner)
    assert client.post(read_url(foreign)).status_code == 404
    assert client.post(read_url(foreign, org="globex")).status_code == 404


def test_it_redirects_anonymous_to_the_login(world, client):
    n = notify(world.owner, world.org, "a")
    for response in (
        client.get(inbox_url()),
        client.post(read_url(n)),
        client.post(f"{inbox_url()}read-all/"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_get_on_the_actions(world, client):
    n = notify(world.owner, world.org, "a")
    client.force_login(world.owner)
    assert client.get(read_url(n)).status_code == 405
    assert client.get(f"{inbox_url()}read-all/").status_code == 405


def test_it_enforces_csrf(world):
    n = notify(world.owner, world.org, "a")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    assert client.post(read_url(n)).status_code == 403
    assert client.post(read_url(n), HTTP_HX_REQUEST="true").status_code == 403
    assert client.post(f"{inbox_url()}read-all/").status_code == 403
    n.refresh_from_db()
    assert n.read_at is None
    # With the token from the page (the form's field, or htmx's header from <body>): accepted.
    client.get(inbox_url())
    token = client.cookies["csrftoken"].value
    assert (
        client.post(read_url(n), HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true").status_code == 200
    )


def test_it_shows_the_unread_badge_on_the_org_home(world, client):
    for key in ("a", "b", "c"):
        notify(world.owner, world.org, key)
    notify(world.member, world.org, "d")
    client.force_login(world.owner)
    html = client.get("/o/acme/").content.decode()
    assert 'href="/o/acme/notifications/"' in html
    assert 'aria-label="3 unread notifications"' in html
    # Outside an organization there is no badge.
    assert "unread-badge" not in client.get("/").content.decode()


def test_it_hides_the_badge_when_nothing_is_unread(world, client):
    client.force_login(world.owner)
    html = client.get("/o/acme/").content.decode()
    assert 'aria-label="0 unread notifications" hidden' in html


@pytest.mark.parametrize("count", [3, 30])
def test_it_uses_a_constant_number_of_queries(
    planning, world, client, django_assert_num_queries, count
):
    kr = planning.pipeline
    for i in range(count):
        notify(world.owner, world.org, f"k{i}", kr_id=kr.pk if i % 2 else None)
    client.force_login(world.owner)
    # session, user, scope; the page's count and rows; the caller's invitations (from
    # every organization); the badge's scope and count
    with django_assert_num_queries(7):
        response = client.get(inbox_url())
    assert response.content.decode().count("inbox-row unread") == count


def test_it_links_steps_and_reviews_to_my_work(world, client):
    notify(world.owner, world.org, "a", "Answer the review", kind=NotificationKind.REVIEW)
    notify(world.owner, world.org, "b", "Something changed")
    client.force_login(world.owner)
    html = client.get(inbox_url()).content.decode()
    assert html.count('<a href="/o/acme/me/">Open steps in My work</a>') == 1
