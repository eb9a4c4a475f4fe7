"""The admin pages of the outgoing webhooks: the list and the form that adds one (its
secret shown in that answer only), a webhook's delivery log, its removal."""

import re

import pytest

from notifications import webhooks
from notifications.models import Webhook, WebhookDelivery
from tests.receiver import Receiver

URL = "https://hooks.example.test/okrplan"


@pytest.fixture
def admin(world, client):
    client.force_login(world.admin)
    return client


def test_it_adds_a_webhook_and_shows_its_secret_in_that_answer_only(world, admin):
    response = admin.post(
        "/o/acme/admin/webhooks/",
        {"url": URL, "events": ["round.opened", "round.closed"], "format": "slack"},
    )

    assert response.status_code == 200
    hook = Webhook.objects.get()
    assert (hook.url, hook.events, hook.format) == (URL, ["round.opened", "round.closed"], "slack")
    page = response.content.decode()
    assert "Webhook added" in page and hook.secret in page
    later = admin.get("/o/acme/admin/webhooks/").content.decode()
    assert hook.secret not in later and URL in later and "Slack incoming webhook" in later


@pytest.mark.parametrize(
    ("data", "field_id", "words"),
    [
        ({"url": "", "events": ["round.closed"]}, "webhook-url-errors", "Give the receiver"),
        (
            {"url": "hooks.example.test", "events": ["round.closed"]},
            "webhook-url-errors",
            "Enter a full",
        ),
        ({"url": URL}, "webhook-events-errors", "Choose at least one event."),
        ({"url": URL, "events": ["plan.changed"]}, "webhook-events-errors", "Choose the events"),
        (
            {"url": URL, "events": ["round.closed"], "format": "xml"},
            "webhook-format-errors",
            "Choose a format",
        ),
        (
            {"url": "http://10.0.0.8/hook", "events": ["round.closed"]},
            "webhook-url-errors",
            "10.0.0.8 is a private network address",
        ),
    ],
)
def test_it_refuses_bad_input_next_to_the_field_and_writes_nothing(
    world, admin, settings, data, field_id, words
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = admin.post("/o/acme/admin/webhooks/", data)

    assert response.status_code == 400
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="{field_id}">(.*?)</ul>', page, re.S)
    assert errors and words in errors.group(1)
    assert not Webhook.objects.exists()
    if data.get("url"):
        assert f'value="{data["url"]}"' in page  # what was typed stays


def test_the_delivery_log_shows_each_delivery_with_its_answer(world, admin):
    with Receiver(answers=[204], default=503) as receiver:
        hook = webhooks.webhook_create(
            org=world.org, actor=world.admin, url=receiver.url, events=["round.closed"]
        )
        occurrence = webhooks.Occurrence(
            organization_id=world.org.pk,
            event="round.closed",
            data={},
            text="Closed.",
            page=("kr-alignment", (1,)),
        )
        for _ in range(2):
            webhooks.webhook_events_record(
                occurrences=[occurrence], hooks=webhooks.hooks_for([world.org.pk], "round.closed")
            )
        webhooks.webhook_deliver()

    page = admin.get(f"/o/acme/admin/webhooks/{hook.pk}/").content.decode()
    for delivery in WebhookDelivery.objects.all():
        assert str(delivery.pk) in page
    assert "HTTP 503" in page and "Pending" in page and "Delivered" in page
    listed = admin.get("/o/acme/admin/webhooks/").content.decode()
    assert "1 delivered, 1 pending" in listed


def test_it_removes_a_webhook(world, admin):
    hook = webhooks.webhook_create(
        org=world.org, actor=world.admin, url=URL, events=["round.closed"]
    )
    response = admin.post(f"/o/acme/admin/webhooks/{hook.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/o/acme/admin/webhooks/"
    assert not Webhook.objects.exists()
    assert (
        "is removed, with its delivery log" in admin.get("/o/acme/admin/webhooks/").content.decode()
    )

    again = webhooks.webhook_create(
        org=world.org, actor=world.admin, url=URL, events=["round.closed"]
    )
    htmx = admin.post(f"/o/acme/admin/webhooks/{again.pk}/delete/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and htmx["HX-Redirect"] == "/o/acme/admin/webhooks/"


def test_admins_only_and_only_their_organizations(world, client):
    theirs = webhooks.webhook_create(
        org=world.other_org, actor=world.outsider, url=URL, events=["round.closed"]
    )
    client.force_login(world.member)
    assert client.get("/o/acme/admin/webhooks/").status_code == 403
    client.force_login(world.outsider)
    assert client.get("/o/acme/admin/webhooks/").status_code == 404
    client.force_login(world.admin)
    assert client.get(f"/o/acme/admin/webhooks/{theirs.pk}/").status_code == 404
    assert client.post(f"/o/acme/admin/webhooks/{theirs.pk}/delete/").status_code == 404
    assert Webhook.objects.filter(pk=theirs.pk).exists()


def test_the_list_costs_a_fixed_number_of_queries(world, admin, django_assert_num_queries):
    for n in range(5):
        webhooks.webhook_create(
            org=world.org, actor=world.admin, url=f"{URL}/{n}", events=["round.closed"]
        )
    admin.get("/o/acme/admin/webhooks/")
    with django_assert_num_queries(5):  # session, user, scope, unread badge, the webhooks
        admin.get("/o/acme/admin/webhooks/")
