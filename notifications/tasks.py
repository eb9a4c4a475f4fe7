"""Celery tasks: thin, safe to run twice (the services claim their work)."""

import logging
import smtplib
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from okrplan.lib.tenancy import system_scope
from okrplan.lib.text import one_line

log = logging.getLogger(__name__)
EMAIL_BATCH = 200


@shared_task(name="notifications.tasks.deadline_scan_task", ignore_result=True)
def deadline_scan_task() -> dict:
    from notifications.deadlines import deadline_scan

    with system_scope():  # every organization's deadlines (okrplan/lib/tenancy.py)
        report = deadline_scan()
        email_deliver()
    if report.reminders or report.escalations or report.checkin_chases:
        log.info(
            "deadline scan: %s reminders, %s escalations, %s orphaned, %s check-in chases",
            report.reminders,
            report.escalations,
            report.orphaned,
            report.checkin_chases,
        )
    return {"reminders": report.reminders, "escalations": report.escalations}


@shared_task(name="notifications.tasks.email_deliver_task", ignore_result=True)
def email_deliver_task() -> int:
    with system_scope():  # every organization's notifications
        return email_deliver()


_broker_down_until = 0.0
BROKER_BACKOFF_SECONDS = 30


def email_deliver_enqueue() -> None:
    """Queue delivery now; if the broker is down, the next scan delivers (nothing lost).

    After a failure, requests stop trying for a while instead of each waiting for the
    broker's connect timeout."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return
    try:
        email_deliver_task.apply_async(retry=False)
    except Exception:  # any broker failure: the sweep delivers later
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning("broker unavailable: e-mail will go out with the next deadline scan")


def email_deliver() -> int:
    """Send the e-mail of every notification not sent yet; answer how many went out.

    Claimed with a lease (a conditional update), sent outside the transaction, and each
    marked as soon as it is sent. A worker killed midway leaves the rest of its batch
    to the next after the lease (`EMAIL_LEASE_SECONDS`), and sends again at most the one
    e-mail it was marking: e-mail is at least once; the notification itself was
    recorded exactly once.

    Each message fails on its own (`_email_failed`): the rest of the batch goes out.
    """
    from notifications.models import Notification

    sent = 0
    while True:
        now = timezone.now()
        stale = now - timedelta(seconds=settings.EMAIL_LEASE_SECONDS)
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(emailed_at__isnull=True, email_failed_at__isnull=True)
                .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=stale))
                .select_related("user__profile", "organization")
                .order_by("id")[:EMAIL_BATCH]
            )
            Notification.objects.filter(pk__in=[n.pk for n in batch]).update(email_claimed_at=now)
        if not batch:
            return sent
        for notification in batch:
            # No address, or a person who reads theirs in the app only: nothing to send,
            # done with (it is in their inbox).
            if notification.recipient_email and _wants_email(notification):
                try:
                    _email_send(notification)
                except Exception as error:  # whatever one message raises, the rest go out
                    _email_failed(notification, error)
                    continue
            # One by one, not per batch: a worker killed in the middle of a batch (kill
            # drill, bench/drill.py) sent up to 199 e-mails again after the lease.
            Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
            sent += 1


def _wants_email(notification) -> bool:
    """Whether the recipient hears of notifications by e-mail (their profile's
    `notify_by`, hierarchy.Profile): not when they chose the app only. The daily digest
    is not built yet (the decision context issue, 16): until it is, it is e-mail at once.
    Someone invited by e-mail without an account yet has no profile: e-mailed."""
    from hierarchy.models import NotifyBy

    profile = getattr(notification.user, "profile", None) if notification.user_id else None
    return profile is None or profile.notify_by != NotifyBy.IN_APP


def _email_send(notification) -> None:
    # The organization's name goes into a header: one line, whatever was stored before
    # names were refused at the door (okrplan/lib/text.py).
    send_mail(
        subject=f"[okrplan · {one_line(notification.organization.name)}] "
        f"{notification.get_kind_display()}",
        message=notification.message,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.recipient_email],
    )


def email_error_is_permanent(error: BaseException) -> bool:
    """Whether trying the same message again cannot help (docs/decisions.md, issue 13).

    Passing: an OSError (the mail server unreachable or timing out, a connection
    dropped; SMTP errors are OSErrors) unless the server's reply is a 5xx. Permanent: a
    5xx reply for this message (a recipient refused, the data refused), and anything
    else the message raises while it is built or sent (BadHeaderError for a header with
    a line break, ValueError or UnicodeError for an address Django cannot encode)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return not isinstance(error, OSError)


def _email_failed(notification, error: Exception) -> None:
    """Record the failure on the message: a permanent one, or the last allowed passing
    one, marks it failed (never tried again; the Django admin lists it with its
    reason); another passing one leaves it claimed, to be tried after the lease."""
    from notifications.models import Notification

    attempts = notification.email_attempts + 1
    reason = f"{type(error).__name__}: {error}"
    permanent = email_error_is_permanent(error)
    failed = permanent or attempts >= settings.EMAIL_MAX_ATTEMPTS
    if failed and not permanent:
        reason = f"Gave up after {attempts} attempts. {reason}"
    Notification.objects.filter(pk=notification.pk).update(
        email_attempts=attempts,
        email_error=one_line(reason)[:500],
        email_failed_at=timezone.now() if failed else None,
    )
    log.warning(
        "e-mail of notification %s to user %s failed (attempt %s, %s): %s",
        notification.pk,
        notification.user_id,
        attempts,
        "given up" if failed else "tried again after the lease",
        reason,
    )
