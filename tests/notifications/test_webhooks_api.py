"""The webhooks API (API.md §Outgoing webhooks): admins add, change, remove webhooks and
read their delivery log; the secret is shown once; bad input is refused naming the field,
and nothing is written; private addresses are refused unless WEBHOOK_ALLOW_PRIVATE."""

import pytest

from notifications import webhooks
from notifications.models import Webhook, WebhookDelivery

URL = "https://hooks.example.test/okrplan"


def _add(api, world, **body):
    body = {"url": URL, "events": ["round.opened", "plan.modified"], **body}
    return api(world.admin).post("/api/v1/orgs/acme/webhooks/", body, format="json")


def test_it_adds_a_webhook_and_shows_its_secret_once(world, api):
    response = _add(api, world, format="slack")

    assert response.status_code == 201, response.data
    body = response.json()
    assert set(body) == {"id", "url", "events", "format", "secret", "created_at"}
    assert body["url"] == URL and body["format"] == "slack"
    assert body["events"] == ["plan.modified", "round.opened"]  # the catalog's order
    assert len(body["secret"]) >= 40
    hook = Webhook.objects.get(pk=body["id"])
    assert hook.secret == body["secret"] and hook.organization == world.org

    listed = api(world.admin).get("/api/v1/orgs/acme/webhooks/").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]
    detail = api(world.admin).get(f"/api/v1/orgs/acme/webhooks/{hook.pk}/").json()
    assert "secret" not in detail and detail["id"] == hook.pk


def test_it_defaults_to_json(world, api):
    assert _add(api, world).json()["format"] == "json"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": ""}, "url", "Give the receiver's URL"),
        ({"url": 5}, "url", "Give text"),
        ({"url": "hooks.example.test/x"}, "url", "Enter a full http:// or https:// URL"),
        ({"url": "ftp://hooks.example.test/x"}, "url", "Enter a full http:// or https:// URL"),
        ({"url": "https://x.test/" + "a" * 2000}, "url", "at most 2,000 characters"),
        ({"events": []}, "events", "Choose at least one event"),
        ({"events": "plan.modified"}, "events", "Choose at least one event"),
        ({"events": ["plan.changed"]}, "events", "Not an event: “plan.changed”"),
        ({"events": [3]}, "events", "Not an event: “3”"),
        ({"format": "xml"}, "format", "Choose json, slack or teams."),
        ({"secret": "mine"}, "secret", "Unknown field"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_writes_nothing(world, api, body, field, words):
    response = _add(api, world, **body)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert words in " ".join(response.json()[field])
    assert not Webhook.objects.exists()


def test_it_wants_url_and_events(world, api):
    response = api(world.admin).post("/api/v1/orgs/acme/webhooks/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"url", "events"}
    assert "Choose at least one event: plan.modified" in response.json()["events"][0]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://localhost:8000/hook", "localhost (127.0.0.1) is a loopback address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("https://10.1.2.3/hook", "10.1.2.3 is a private network address"),
        ("https://192.168.0.7/hook", "192.168.0.7 is a private network address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://[::ffff:10.0.0.1]/hook", "::ffff:10.0.0.1 is a private network address"),
    ],
)
def test_it_refuses_private_addresses_unless_allowed(world, api, settings, url, words):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = _add(api, world, url=url)

    assert response.status_code == 400
    assert words in response.json()["url"][0]
    assert "public internet addresses only" in response.json()["url"][0]
    assert not Webhook.objects.exists()

    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert _add(api, world, url=url).status_code == 201


def test_it_accepts_a_public_address_and_a_name_that_does_not_resolve_yet(world, api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert _add(api, world, url="https://93.184.215.14/hook").status_code == 201
    # no resolver answers for it now: the address is checked again when it is sent to
    assert _add(api, world, url="https://hooks.example.test/x").status_code == 201


def test_it_changes_what_is_given_and_refuses_a_private_address(world, api, settings):
    hook = webhooks.webhook_create(
        org=world.org, actor=world.admin, url=URL, events=["round.closed"]
    )
    url = f"/api/v1/orgs/acme/webhooks/{hook.pk}/"

    response = api(world.admin).patch(
        url, {"events": ["step.overdue", "round.closed"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["events"] == ["step.overdue", "round.closed"]
    assert response.json()["url"] == URL and "secret" not in response.json()

    settings.WEBHOOK_ALLOW_PRIVATE = False
    refused = api(world.admin).patch(url, {"url": "http://10.0.0.9/x"}, format="json")
    assert refused.status_code == 400 and "private network" in refused.json()["url"][0]
    hook.refresh_from_db()
    assert hook.url == URL and hook.events == ["step.overdue", "round.closed"]

    both = api(world.admin).patch(url, {"format": "teams", "events": []}, format="json")
    assert both.status_code == 400 and list(both.json()) == ["events"]
    hook.refresh_from_db()
    assert hook.format == "json"


def test_it_removes_a_webhook_with_its_delivery_log(world, api):
    hook = webhooks.webhook_create(
        org=world.org, actor=world.admin, url=URL, events=["round.closed"]
    )
    WebhookDelivery.objects.create(
        organization=world.org,
        webhook=hook,
        event="round.closed",
        body="{}",
        created_at=hook.created_at,
        next_attempt_at=hook.created_at,
    )
    response = api(world.admin).delete(f"/api/v1/orgs/acme/webhooks/{hook.pk}/")

    assert response.status_code == 204
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


def test_only_admins_and_only_their_organizations_webhooks(world, api):
    mine = webhooks.webhook_create(
        org=world.org, actor=world.admin, url=URL, events=["round.closed"]
    )
    theirs = webhooks.webhook_create(
        org=world.other_org, actor=world.outsider, url=URL, events=["round.closed"]
    )
    for user in (world.member, world.owner, world.viewer):
        for path in ("", f"{mine.pk}/", f"{mine.pk}/deliveries/"):
            assert api(user).get(f"/api/v1/orgs/acme/webhooks/{path}").status_code == 403
    assert (
        api(world.member)
        .post(
            "/api/v1/orgs/acme/webhooks/", {"url": URL, "events": ["round.closed"]}, format="json"
        )
        .status_code
        == 403
    )
    assert api(world.outsider).get("/api/v1/orgs/acme/webhooks/").status_code == 404
    for method in ("get", "patch", "delete"):
        foreign = getattr(api(world.admin), method)(
            f"/api/v1/orgs/acme/webhooks/{theirs.pk}/", {}, format="json"
        )
        assert foreign.status_code == 404
    assert (
        api(world.admin).get(f"/api/v1/orgs/acme/webhooks/{theirs.pk}/deliveries/").status_code
        == 404
    )
    listed = api(world.admin).get("/api/v1/orgs/acme/webhooks/").json()
    assert [h["id"] for h in listed["results"]] == [mine.pk]
    assert Webhook.objects.filter(pk=theirs.pk).exists()
