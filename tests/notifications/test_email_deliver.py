"""E-mail delivery (`notifications.tasks.email_deliver`) when the worker dies midway.

A worker SIGKILLed while it sends a batch (bench/drill.py, drill 3) leaves its claimed
notifications to the next worker after the lease. What it had sent must not be sent
again: each notification is marked as soon as its e-mail is out, so a death costs at
most the one e-mail between sending and marking a second time.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notification_create
from notifications.tasks import email_deliver

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
