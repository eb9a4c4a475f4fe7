"""Propagation rules (admins change them) and the notifications inbox."""

import pytest
from django.core import mail

from hierarchy.models import Organization
from notifications import tasks
from notifications.models import Notification, PropagationRule
from notifications.services import email_deliver, notification_create
from tests.planning import lock, set_plan

RULES = "/api/v1/orgs/acme/propagation-rules/"


def test_the_default_rule_is_a_10_percent_threshold_and_downward_notices(world, api):
    assert api(world.viewer).get(RULES).json() == {
        "upward": "threshold",
        "threshold_pct": "10",
        "downward": "notify",
        "inherited": False,
    }


def test_an_admin_changes_the_default(world, api):
    response = api(world.admin).put(
        RULES, {"upward": "threshold", "threshold_pct": "5", "downward": "review_required"}
    )
    assert response.status_code == 200
    assert response.json()["threshold_pct"] == "5"
    rule = PropagationRule.objects.get(organization=world.org, kr__isnull=True)
    assert (rule.upward, rule.downward) == ("threshold", "review_required")


@pytest.mark.parametrize("who", ["member", "viewer", "owner"])
def test_only_admins_change_rules(world, api, who):
    response = api(getattr(world, who)).put(RULES, {"upward": "none", "downward": "none"})
    assert response.status_code == 403
    assert not PropagationRule.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"upward": "sometimes", "downward": "none"}, "upward"),
        ({"upward": "none", "downward": "shout"}, "downward"),
        ({"upward": "threshold", "threshold_pct": 0, "downward": "none"}, "threshold_pct"),
        ({"upward": "threshold", "threshold_pct": "NaN", "downward": "none"}, "threshold_pct"),
        ({"downward": "none"}, "upward"),
    ],
)
def test_bad_rules_are_refused(world, api, body, field):
    response = api(world.admin).put(RULES, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not PropagationRule.objects.exists()


def test_a_kr_inherits_the_default_until_it_has_an_override(planning, world, api):
    url = f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/propagation-rule/"
    assert api(world.viewer).get(url).json()["inherited"] is True
    api(world.admin).put(url, {"upward": "notify", "downward": "none"}, format="json")
    assert api(world.viewer).get(url).json() == {
        "upward": "notify",
        "threshold_pct": "10",
        "downward": "none",
        "inherited": False,
    }
    assert api(world.owner).put(url, {"upward": "none", "downward": "none"}).status_code == 403
    assert api(world.admin).delete(url).json()["inherited"] is True


def note(world, user, key, kind="step"):
    return notification_create(
        organization_id=world.org.pk, user_id=user.pk, kind=kind, key=key, message=f"about {key}"
    )


def test_the_inbox_lists_my_notifications_and_marks_them_read(world, api):
    first = note(world, world.marketing_lead, "a")
    note(world, world.marketing_lead, "b")
    note(world, world.sales_lead, "c")
    client = api(world.marketing_lead)
    body = client.get("/api/v1/orgs/acme/notifications/?unread=1").json()
    assert [n["message"] for n in body["results"]] == ["about b", "about a"]
    assert client.get("/api/v1/orgs/acme/notifications/unread-count/").json() == {"unread": 2}
    assert client.post(f"/api/v1/orgs/acme/notifications/{first.pk}/read/").status_code == 200
    assert client.get("/api/v1/orgs/acme/notifications/unread-count/").json() == {"unread": 1}
    assert client.post("/api/v1/orgs/acme/notifications/read-all/").json() == {"marked": 1}
    assert client.get("/api/v1/orgs/acme/notifications/?unread=1").json()["count"] == 0
    assert client.get("/api/v1/orgs/acme/notifications/").json()["count"] == 2


def test_someone_elses_notification_is_not_found(world, api):
    theirs = note(world, world.sales_lead, "x")
    response = api(world.marketing_lead).post(f"/api/v1/orgs/acme/notifications/{theirs.pk}/read/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_key_is_recorded_once(world):
    assert note(world, world.admin, "same") is not None
    assert note(world, world.admin, "same") is None
    assert Notification.objects.filter(key="same").count() == 1
    other = Organization.objects.get(slug="globex")
    assert notification_create(
        organization_id=other.pk, user_id=world.outsider.pk, kind="step", key="same", message="m"
    )


def test_notifications_go_out_by_email_once(world):
    note(world, world.marketing_lead, "mail-1")
    note(world, world.sales_lead, "mail-2")
    assert email_deliver() == 2
    assert email_deliver() == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["maya@example.test", "sam@example.test"]
    assert "[okrplan · Acme]" in mail.outbox[0].subject


def test_a_broker_that_is_down_loses_nothing(planning, world, django_capture_on_commit_callbacks):
    """The save succeeds with the broker unreachable; the sweep delivers afterwards."""
    from okrplan.celery import app

    lock(planning.pipeline)
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        with django_capture_on_commit_callbacks(execute=True):
            set_plan(planning.marketing_kr, [1, 1, 1], rationale="Budget frozen")
    finally:
        app.conf.broker_url = previous
        tasks._broker_down_until = 0.0
    pending = Notification.objects.filter(emailed_at__isnull=True)
    assert pending.filter(user=world.owner).exists()
    assert not mail.outbox
    delivered = pending.count()
    assert email_deliver() == delivered
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
    assert any("Budget frozen" in m.body for m in mail.outbox)
