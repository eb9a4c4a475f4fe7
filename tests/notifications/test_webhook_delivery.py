"""Delivering webhooks (notifications/webhooks.py) to a real HTTP receiver on 127.0.0.1
started by the test (tests/receiver.py): signed POSTs with a delivery id that stays the
same on every attempt, retries on the documented schedule, a 2xx delivered once, private
addresses refused at delivery too, and one receiver that does not answer holding up no
other."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications import webhooks
from notifications.models import WebhookDelivery
from notifications.webhooks import Occurrence, webhook_deliver
from okrplan.lib.outbound import Answer
from tests.receiver import STALL, Receiver, closed_port

SCHEDULE = [30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]  # settings' default


def add(world, url, events=("round.closed",), format="json", org=None):
    return webhooks.webhook_create(
        org=org or world.org, actor=world.admin, url=url, events=list(events), format=format
    )


def occur(org, *, event="round.closed", text="The round is closed.", kr_id=1, **data):
    """Record one event of `org` as a service does (the outbox)."""
    occurrence = Occurrence(
        organization_id=org.pk,
        event=event,
        data=data or {"note": "4.5M it is"},
        text=text,
        page=("kr-alignment", (kr_id,)),
    )
    hooks = webhooks.hooks_for([org.pk], event)
    return webhooks.webhook_events_record(occurrences=[occurrence], hooks=hooks)


def test_a_receiver_that_answers_2xx_gets_each_delivery_once_signed(world):
    with Receiver() as receiver:
        hook = add(world, receiver.url)
        occur(world.org)
        first = webhook_deliver()
        again = webhook_deliver()

    assert (first.delivered, again.delivered) == (1, 0)
    assert len(receiver.received) == 1
    got = receiver.received[0]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status_code == 204 and delivery.delivered_at is not None
    assert got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json"
    assert got.event == "round.closed"
    assert got.delivery == str(delivery.pk)
    assert got.signed_with(hook.secret)
    assert not got.signed_with("another secret")
    assert got.body == delivery.body.encode()
    body = json.loads(got.body)
    assert set(body) == {"id", "event", "created_at", "organization", "data"}
    assert body["event"] == "round.closed"
    assert body["organization"] == {"slug": "acme", "name": "Acme"}
    assert body["data"]["note"] == "4.5M it is"
    assert body["data"]["url"] == "http://localhost:8000/o/acme/krs/1/alignment/"


def test_a_receiver_that_fails_first_gets_the_same_delivery_again(world):
    start = timezone.now()
    with time_machine.travel(start, tick=False), Receiver(answers=[500]) as receiver:
        hook = add(world, receiver.url)
        occur(world.org)
        assert webhook_deliver().retried == 1
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500: ok"
        assert delivery.next_attempt_at == start + timedelta(seconds=30)
        assert webhook_deliver().answers == []  # not due yet: nothing sent

        with time_machine.travel(start + timedelta(seconds=30), tick=False):
            assert webhook_deliver().delivered == 1
            assert webhook_deliver().answers == []
        with time_machine.travel(start + timedelta(days=2), tick=False):
            assert webhook_deliver().answers == []  # delivered: never again

    first, second = receiver.received
    assert first.answered == 500 and second.answered == 204
    assert first.delivery == second.delivery == str(delivery.pk)
    assert first.body == second.body  # frozen when the event happened
    assert first.headers["X-Okrplan-Signature"] == second.headers["X-Okrplan-Signature"]
    assert second.signed_with(hook.secret)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert delivery.last_error == ""


def test_it_retries_on_the_schedule_for_more_than_a_day_then_fails(world):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock, Receiver(default=503) as receiver:
        add(world, receiver.url)
        occur(world.org)
        waits = []
        for attempt in range(1, len(SCHEDULE) + 2):
            webhook_deliver()
            delivery = WebhookDelivery.objects.get()
            assert delivery.attempts == attempt
            if delivery.status == "failed":
                break
            wait = delivery.next_attempt_at - timezone.now()
            waits.append(wait.total_seconds())
            clock.move_to(delivery.next_attempt_at - timedelta(seconds=1))
            assert webhook_deliver().answers == [], "sent before it was due"
            clock.move_to(delivery.next_attempt_at)
        last_attempt = timezone.now()

    assert waits == SCHEDULE
    assert waits[0] <= 60  # the first retry within a minute
    assert last_attempt - start >= timedelta(days=1)
    assert delivery.status == "failed" and delivery.attempts == len(SCHEDULE) + 1
    assert delivery.last_error == "Gave up after 10 attempts. HTTP 503: ok"
    assert len(receiver.received) == 10
    assert len({r.delivery for r in receiver.received}) == 1


def test_no_answer_in_time_is_a_failed_attempt(world, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    with Receiver(answers=[STALL]) as receiver:
        add(world, receiver.url)
        occur(world.org)
        report = webhook_deliver()
        receiver.release()

    delivery = WebhookDelivery.objects.get()
    assert report.retried == 1 and report.answers[0][1].seconds < 1.5
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_error == "No answer within 0.5 s."


def test_an_unreachable_receiver_is_a_failed_attempt(world):
    add(world, f"http://127.0.0.1:{closed_port()}/hook")
    occur(world.org)
    webhook_deliver()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "Connection refused" in delivery.last_error


def test_private_addresses_are_refused_at_delivery_after_resolving(world, settings):
    """Stored while allowed; then refused on the address the name resolves to when it is
    sent (a receiver behind a name that turned private): nothing reaches it."""
    with Receiver() as receiver:
        add(world, receiver.url.replace("127.0.0.1", "localhost"))
        occur(world.org)
        settings.WEBHOOK_ALLOW_PRIVATE = False
        webhook_deliver()

    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_error.startswith("Refused: localhost (127.0.0.1) is a loopback address")


def test_a_redirect_is_not_followed(world):
    with Receiver(default=302) as receiver:
        add(world, receiver.url)
        occur(world.org)
        webhook_deliver()

    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().last_status_code == 302


def test_a_receiver_that_does_not_answer_holds_up_no_other(world, settings):
    """One attempt per pass for the silent one (its other deliveries wait for the next
    pass); every delivery of the other webhook goes out in the same pass."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    with Receiver(default=STALL) as silent, Receiver() as fine:
        add(world, silent.url)
        add(world, fine.url)
        for n in range(3):
            occur(world.org, note=f"close {n}")
        report = webhook_deliver()

    assert len(silent.received) == 1
    assert len(fine.received) == 3
    assert report.delivered == 3 and report.retried == 1
    waiting = WebhookDelivery.objects.filter(webhook__url=silent.url)
    assert sorted(waiting.values_list("attempts", flat=True)) == [0, 0, 1]


def test_a_receiver_back_gets_its_pending_deliveries_at_once_oldest_first(world):
    start = timezone.now()
    receiver = Receiver()
    with time_machine.travel(start, tick=False) as clock:
        hook = add(world, receiver.url)  # its port is closed: nothing listens yet
        hook.url = f"http://127.0.0.1:{closed_port()}/hook"
        hook.save()
        for n in range(3):
            clock.shift(1)
            occur(world.org, note=f"close {n}")
            webhook_deliver()  # refused: retried in 30 s, 2 min, ...
        receiver.up()
        webhooks.webhook_update(webhook=hook, url=receiver.url)
        clock.shift(29)  # the first one's retry is due; the others' are not yet
        report = webhook_deliver()
        receiver.down()

    assert report.delivered == 3
    notes = [json.loads(r.body)["data"]["note"] for r in receiver.received]
    assert notes == ["close 0", "close 1", "close 2"]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_killed_workers_claim_is_taken_over_after_its_lease_with_the_same_id(world, settings):
    """A worker that claimed a delivery and died before it recorded the answer: nobody
    sends it until the lease runs out; then another does, the same delivery, and the
    attempt the dead one made counts."""
    settings.WEBHOOK_LEASE_SECONDS = 120
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock, Receiver() as receiver:
        add(world, receiver.url)
        occur(world.org)
        claimed = webhooks._claim(ids=None, alive=set(), dead=set(), now=timezone.now())
        assert claimed is not None  # ... and the worker is gone
        clock.shift(119)
        assert webhook_deliver().answers == []
        clock.shift(2)
        assert webhook_deliver().delivered == 1

    delivery = WebhookDelivery.objects.get()
    assert len(receiver.received) == 1 and receiver.received[0].delivery == str(delivery.pk)
    assert delivery.pk == claimed[0].pk and delivery.attempts == 2
    assert delivery.status == "delivered"


def test_an_attempt_taken_over_does_not_overwrite_the_one_that_followed(world):
    """The lease ran out during a (slow) attempt and another worker retried: the late
    failure of the first is not recorded over the second's outcome."""
    with Receiver() as receiver:
        add(world, receiver.url)
        occur(world.org)
        delivery, old_claim = webhooks._claim(ids=None, alive=set(), dead=set(), now=timezone.now())
        WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now())
        webhook_deliver()  # the other worker: delivered
        webhooks._record(delivery, old_claim, Answer(status=None, error="late", seconds=9))

    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.last_error == ""
    assert len(receiver.received) == 1


@pytest.mark.parametrize("format", ["slack", "teams"])
def test_chat_formats_are_incoming_webhook_messages_with_a_link(world, format):
    with Receiver() as receiver:
        hook = add(world, receiver.url, format=format)
        occur(world.org, text="The round on “Pipeline <EMEA>” is closed & done.", kr_id=7)
        webhook_deliver()

    got = receiver.received[0]
    assert got.signed_with(hook.secret) and got.event == "round.closed"
    body = json.loads(got.body)
    link = "http://localhost:8000/o/acme/krs/7/alignment/"
    if format == "slack":
        assert body["text"] == (
            "A modification round closed: The round on “Pipeline &lt;EMEA&gt;” is closed "
            f"&amp; done. <{link}|Open in okrplan>"
        )
        section, context = body["blocks"]
        assert section["text"]["type"] == "mrkdwn"
        assert section["text"]["text"].startswith("*A modification round closed*\n")
        assert f"<{link}|Open in okrplan>" in context["elements"][0]["text"]
    else:
        (attachment,) = body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        texts = [block["text"] for block in card["body"]]
        assert texts[1] == "The round on “Pipeline <EMEA>” is closed & done."
        assert card["actions"] == [
            {"type": "Action.OpenUrl", "title": "Open in okrplan", "url": link}
        ]


def test_the_link_starts_with_site_url(world, settings):
    settings.SITE_URL = "https://okr.example.com"
    with Receiver() as receiver:
        add(world, receiver.url)
        occur(world.org, kr_id=3)
        webhook_deliver()

    data = json.loads(receiver.received[0].body)["data"]
    assert data["url"] == "https://okr.example.com/o/acme/krs/3/alignment/"


def test_a_webhook_removed_meanwhile_is_not_sent_to(world):
    with Receiver() as receiver:
        hook = add(world, receiver.url)
        occur(world.org)
        webhooks.webhook_delete(webhook=hook)
        assert webhook_deliver().answers == []
    assert receiver.received == []
