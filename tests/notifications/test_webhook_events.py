"""Each domain event is recorded for the webhooks that take it, in the event's own
transaction (the outbox, notifications/webhooks.py): SPEC.md §8's modification round
played with time travel, the deliveries' bodies read as a receiver would."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from notifications import services as ns
from notifications import webhooks
from notifications.deadlines import deadline_scan
from notifications.models import Round, Step, WebhookDelivery, WebhookEvent
from tests.planning import lock, set_plan

D = Decimal
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
URL = "https://hooks.example.test/okrplan"


def hook(world, events=None, org=None, format="json"):
    return webhooks.webhook_create(
        org=org or world.org,
        actor=world.admin,
        url=URL,
        events=events or WebhookEvent.values,
        format=format,
    )


def bodies(event=None) -> list[dict]:
    rows = WebhookDelivery.objects.order_by("created_at", "event")
    if event:
        rows = rows.filter(event=event)
    return [json.loads(d.body) for d in rows]


@pytest.fixture
def modified(planning, world):
    """At T0 Marketing modifies its locked $3M plan to $2.4M (SPEC.md §8)."""
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        lock(planning.pipeline)
    hook(world)
    with time_machine.travel(T0, tick=False):
        set_plan(
            planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change"
        )
    return Round.objects.get()


def test_a_modification_records_plan_modified_threshold_and_round_opened(modified, planning):
    events = sorted(WebhookDelivery.objects.values_list("event", flat=True))
    assert events == ["plan.modified", "round.opened", "threshold.crossed"]
    assert {d.status for d in WebhookDelivery.objects.all()} == {"pending"}

    (plan,) = bodies("plan.modified")
    kr = planning.marketing_kr
    assert plan["event"] == "plan.modified" and plan["created_at"] == T0.isoformat()
    assert plan["organization"] == {"slug": "acme", "name": "Acme"}
    assert plan["data"]["kr"] == {
        "id": kr.pk,
        "title": "Marketing pipeline",
        "unit": "USD",
        "department": "Marketing",
    }
    assert plan["data"]["before_target"] == "3000000"
    assert plan["data"]["after_target"] == "2400000"
    assert plan["data"]["rationale"] == "Channel algorithm change"
    assert plan["data"]["url"] == f"http://localhost:8000/o/acme/krs/{kr.pk}/history/"

    (crossed,) = bodies("threshold.crossed")
    assert crossed["data"]["kr"]["id"] == planning.pipeline.pk
    assert crossed["data"]["moved_pct"] == "-12"
    assert crossed["data"]["after_total"] == "4400000"
    assert crossed["data"]["changed_kr"]["title"] == "Marketing pipeline"

    (opened,) = bodies("round.opened")
    assert opened["data"]["round"]["id"] == modified.pk
    assert opened["data"]["round"]["parent_kr"]["title"] == "Generate $5M in new pipeline"
    assert opened["data"]["notice_due_at"] == (T0 + timedelta(hours=24)).isoformat()
    link = f"http://localhost:8000/o/acme/krs/{planning.pipeline.pk}/alignment/"
    assert opened["data"]["url"] == link == crossed["data"]["url"]
    # one event id per event, a delivery id per delivery
    assert len({b["id"] for b in bodies()}) == 3


def test_a_draft_change_is_no_event(planning, world):
    hook(world)
    set_plan(planning.marketing_kr, [900000, 900000, 900000])
    assert not WebhookDelivery.objects.exists()


def test_the_notice_the_orphaned_round_overdue_steps_and_the_close(modified, planning, world):
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        ns.round_notice(round=modified, actor=world.owner, message="600k short: please assess.")
    (notice,) = bodies("round.notice_sent")
    assert notice["data"]["message"] == "600k short: please assess."
    assert notice["data"]["assess_due_at"] == (T0 + timedelta(hours=50)).isoformat()
    assert notice["data"]["actor"] == "owner"

    with time_machine.travel(T0 + timedelta(hours=51), tick=False):
        deadline_scan()
    overdue = bodies("step.overdue")
    assess = Step.objects.filter(round=modified, kind="assess")
    assert sorted(b["data"]["step"]["id"] for b in overdue) == sorted(s.pk for s in assess)
    first = overdue[0]["data"]
    assert first["step"]["kind"] == "assess" and first["step"]["round"] == modified.pk
    assert first["url"] == f"http://localhost:8000/o/acme/steps/{first['step']['id']}/"

    with time_machine.travel(T0 + timedelta(hours=60), tick=False):
        ns.round_close(round=modified, actor=world.owner, note="4.5M it is", target=D(4500000))
    (closed,) = bodies("round.closed")
    assert closed["data"]["note"] == "4.5M it is"
    assert closed["data"]["target"] == "4500000"
    assert closed["data"]["target_changed"] is True
    assert not bodies("round.orphaned")  # the notice was sent in time


def test_an_orphaned_round(modified, world):
    with time_machine.travel(T0 + timedelta(hours=24, seconds=1), tick=False):
        deadline_scan()
        deadline_scan()  # again: nothing recorded twice
    (orphaned,) = bodies("round.orphaned")
    assert orphaned["data"]["round"]["id"] == modified.pk
    assert orphaned["data"]["round"]["modified_kr"]["department"] == "Marketing"
    notify = bodies("step.overdue")
    assert [b["data"]["step"]["kind"] for b in notify] == ["notify"]


def test_only_the_webhooks_that_take_the_event_and_only_the_organizations(planning, world):
    lock(planning.pipeline)
    rounds_only = hook(world, events=["round.opened"])
    hook(world, events=["round.closed"])
    hook(world, org=world.other_org)  # globex's: every event, of globex
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel change")

    deliveries = WebhookDelivery.objects.all()
    assert [(d.webhook_id, d.event) for d in deliveries] == [(rounds_only.pk, "round.opened")]
    assert deliveries.get().organization_id == world.org.pk


def test_an_event_rolled_back_leaves_no_delivery(planning, world):
    lock(planning.pipeline)
    hook(world)
    with transaction.atomic():
        set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel change")
        assert WebhookDelivery.objects.count() == 3
        transaction.set_rollback(True)
    assert not WebhookDelivery.objects.exists()
    assert not Round.objects.exists()


def test_the_deliveries_of_a_transaction_are_queued_once_when_it_commits(
    planning, world, django_capture_on_commit_callbacks
):
    lock(planning.pipeline)
    hook(world)
    hook(world, format="slack")
    with django_capture_on_commit_callbacks() as callbacks:
        set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel change")
    queued = [c for c in callbacks if isinstance(c, webhooks._DeliverSoon)]
    assert len(queued) == 1
    assert sorted(queued[0].ids) == sorted(
        str(pk) for pk in WebhookDelivery.objects.values_list("pk", flat=True)
    )
    assert len(queued[0].ids) == 6


def test_a_slack_webhook_gets_a_sentence_with_the_link(modified, planning):
    WebhookDelivery.objects.all().delete()
    world_hook = modified.organization
    hook_ = webhooks.webhook_create(
        org=world_hook, actor=None, url=URL, events=["round.closed"], format="slack"
    )
    with time_machine.travel(T0 + timedelta(hours=60), tick=False):
        ns.round_close(round=modified, actor=planning.pipeline.owner, note="4.5M it is")
    body = json.loads(WebhookDelivery.objects.get(webhook=hook_).body)
    link = f"http://localhost:8000/o/acme/krs/{planning.pipeline.pk}/alignment/"
    assert body["text"] == (
        "A modification round closed: The round on “Generate $5M in new pipeline” is closed: "
        f"the shared target stays 5,000,000 USD. 4.5M it is <{link}|Open in okrplan>"
    )
