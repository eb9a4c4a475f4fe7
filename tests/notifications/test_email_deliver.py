"""E-mail delivery (`notifications.services.email_deliver`) when the worker dies midway.

A worker SIGKILLed while it sends a batch (bench/drill.py, drill 3) leaves its claimed
notifications to the next worker after the lease. What it had sent must not be sent
again: each notification is marked as soon as its e-mail is out, so a death costs at
most the one e-mail between sending and marking a second time.
"""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from hierarchy.models import Organization
from notifications.models import Notification
from notifications.services import email_deliver, notification_create
from tests.conftest import User, make_member

SENT_BEFORE_DYING = 3


class WorkerDied(BaseException):
    """Stands for the SIGKILL: nothing after it runs, no `except Exception` catches it."""


class DyingBackend(EmailBackend):
    """Django's test outbox, with the process dying before the fourth e-mail goes out."""

    def send_messages(self, messages):
        if len(mail.outbox) >= SENT_BEFORE_DYING:
            raise WorkerDied
        return super().send_messages(messages)


@pytest.fixture
def pending(world) -> list[Notification]:
    return [
        notification_create(
            organization_id=world.org.pk,
            user_id=world.marketing_lead.pk,
            kind="step",
            key=f"deliver-{i}",
            message=f"about {i}",
        )
        for i in range(8)
    ]


def test_it_marks_each_e_mail_as_soon_as_it_is_sent(pending, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DyingBackend"
    with pytest.raises(WorkerDied):
        email_deliver()

    assert len(mail.outbox) == SENT_BEFORE_DYING
    sent = Notification.objects.filter(emailed_at__isnull=False)
    assert sorted(sent.values_list("key", flat=True)) == ["deliver-0", "deliver-1", "deliver-2"]
    # the rest of the batch stays claimed until the lease runs out
    assert email_deliver_later(seconds=1) == 0


def test_the_next_worker_sends_the_rest_after_the_lease_and_nothing_twice(pending, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DyingBackend"
    with pytest.raises(WorkerDied):
        email_deliver()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    assert email_deliver_later(seconds=settings.EMAIL_LEASE_SECONDS + 1) == 8 - SENT_BEFORE_DYING
    bodies = sorted(m.body for m in mail.outbox)
    assert bodies == sorted(f"about {i}" for i in range(8))  # each once
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def email_deliver_later(*, seconds: float) -> int:
    with time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False):
        return email_deliver()


# --- One message's failure is its own (issue 13 item 1b) ---------------------------

POISON = "poisoned@example.test\r\nBcc: everyone@evil.test"


class FlakyBackend(EmailBackend):
    """Django's test outbox, with a mail server that refuses one recipient: a passing
    error (connection refused) or a permanent one (550), as `FAILURE` says."""

    failure: Exception = ConnectionRefusedError(111, "Connection refused")
    recipient = "sam@example.test"

    def send_messages(self, messages):
        if any(self.recipient in m.to for m in messages):
            raise self.failure
        return super().send_messages(messages)


class RefusingBackend(FlakyBackend):
    failure = smtplib.SMTPRecipientsRefused({"sam@example.test": (550, b"No such user")})


def notify_everyone(world, prefix: str) -> dict[str, Notification]:
    """A notification for each of several people of both organizations, keys by person."""
    people = [world.admin, world.owner, world.marketing_lead, world.sales_lead, world.outsider]
    return {
        user.username: notification_create(
            organization_id=(world.other_org if user == world.outsider else world.org).pk,
            user_id=user.pk,
            kind="step",
            key=f"{prefix}-{user.username}",
            message=f"{prefix} for {user.username}",
        )
        for user in people
    }


def test_a_poisoned_message_fails_on_its_own_and_the_rest_go_out_once(world):
    """A header Django refuses (BadHeaderError: a line break in the recipient, stored
    before one-line names were refused at the door): that message is marked failed with
    its reason, at once; the other organizations' messages go out, each once."""
    poisoned = make_member(world.other_org, "poisoned")
    User.objects.filter(pk=poisoned.pk).update(email=POISON)  # as if stored long ago
    before = notify_everyone(world, "before")
    bad = notification_create(
        organization_id=world.other_org.pk,
        user_id=poisoned.pk,
        kind="step",
        key="poison",
        message="poison",
    )
    after = notify_everyone(world, "after")

    assert email_deliver() == len(before) + len(after)

    bodies = sorted(m.body for m in mail.outbox)
    assert bodies == sorted(n.message for n in [*before.values(), *after.values()])
    bad.refresh_from_db()
    assert bad.emailed_at is None and bad.email_failed_at is not None
    assert bad.email_attempts == 1
    assert bad.email_error.startswith("BadHeaderError: Header values can't contain newlines")
    assert "\n" not in bad.email_error and "\r" not in bad.email_error
    # never claimed again: not now, not after the lease
    assert email_deliver() == 0
    assert email_deliver_later(seconds=settings_lease() + 1) == 0
    assert len(mail.outbox) == len(before) + len(after)
    bad.refresh_from_db()
    assert bad.email_attempts == 1


def test_a_passing_error_is_tried_again_after_the_lease_then_given_up(world, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    settings.EMAIL_MAX_ATTEMPTS = 3
    pending = notify_everyone(world, "flaky")
    sam = pending["sam"]

    assert email_deliver() == len(pending) - 1  # the others went out
    sam.refresh_from_db()
    assert (sam.email_attempts, sam.email_failed_at, sam.emailed_at) == (1, None, None)
    assert sam.email_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert email_deliver() == 0  # still claimed: tried again after the lease, not before
    sam.refresh_from_db()
    assert sam.email_attempts == 1

    lease = settings.EMAIL_LEASE_SECONDS + 1
    assert email_deliver_later(seconds=lease) == 0
    assert email_deliver_later(seconds=2 * lease) == 0
    sam.refresh_from_db()
    assert sam.email_attempts == 3 and sam.email_failed_at is not None
    assert sam.email_error.startswith("Gave up after 3 attempts. ConnectionRefusedError")
    assert email_deliver_later(seconds=4 * lease) == 0
    sam.refresh_from_db()
    assert sam.email_attempts == 3  # given up: never tried again
    assert len(mail.outbox) == len(pending) - 1


def test_a_passing_error_that_clears_up_sends_the_message_once(world, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    pending = notify_everyone(world, "flaky")
    assert email_deliver() == len(pending) - 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_deliver_later(seconds=settings.EMAIL_LEASE_SECONDS + 1) == 1
    sam = pending["sam"]
    sam.refresh_from_db()
    assert sam.emailed_at is not None and sam.email_failed_at is None
    assert sorted(m.body for m in mail.outbox) == sorted(n.message for n in pending.values())


def test_a_recipient_the_server_refuses_for_good_fails_at_once(world, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    pending = notify_everyone(world, "refused")
    assert email_deliver() == len(pending) - 1
    sam = pending["sam"]
    sam.refresh_from_db()
    assert sam.email_attempts == 1 and sam.email_failed_at is not None
    assert sam.email_error.startswith("SMTPRecipientsRefused: ")


def test_an_organization_name_stored_on_two_lines_is_sent_on_one(world):
    """Stored before names were refused at the door: the subject goes out on one line
    (before, BadHeaderError stopped every organization's e-mail)."""
    Organization.objects.filter(pk=world.other_org.pk).update(name="N\r\nSUMMARY:INJ")
    pending = notify_everyone(world, "named")
    assert email_deliver() == len(pending)
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["outsider@example.test"] == "[okrplan · N  SUMMARY:INJ] Step assigned"
    assert subjects["sam@example.test"] == "[okrplan · Acme] Step assigned"


def test_the_django_admin_lists_failed_e_mail_with_its_reason(world, client):
    poisoned = make_member(world.other_org, "poisoned")
    User.objects.filter(pk=poisoned.pk).update(email=POISON)
    notification_create(
        organization_id=world.other_org.pk, user_id=poisoned.pk, kind="step", key="p", message="p"
    )
    notify_everyone(world, "fine")
    email_deliver()
    client.force_login(User.objects.create_superuser("root", "root@example.test", "pw"))
    response = client.get("/admin/notifications/notification/", {"email": "failed"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "BadHeaderError: Header values can&#x27;t contain newlines" in page
    assert "1 notification" in page  # only the failed one


def settings_lease() -> int:
    from django.conf import settings

    return settings.EMAIL_LEASE_SECONDS
