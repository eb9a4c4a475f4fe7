"""Celery tasks: thin, safe to run twice (the services claim their work)."""

import logging
import time

from celery import shared_task

from notifications.deadlines import deadline_sweep
from notifications.digests import digests_compose, digests_deliver
from notifications.services import email_deliver
from notifications.webhooks import webhook_deliver
from okrplan.lib.tenancy import system_scope

log = logging.getLogger(__name__)


@shared_task(name="notifications.tasks.deadline_scan_task", ignore_result=True)
def deadline_scan_task() -> dict:
    with system_scope():  # every organization's deadlines (okrplan/lib/tenancy.py)
        report = deadline_sweep()
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


@shared_task(name="notifications.tasks.digest_task", ignore_result=True)
def digest_task() -> dict:
    """The daily digests due (each person's DIGEST_HOUR in their zone), then every
    composed digest not sent yet (notifications/digests.py)."""
    with system_scope():  # every organization's notifications: a digest spans them
        composed = digests_compose()
        sent = digests_deliver()
    if composed or sent:
        log.info("daily digest: %s composed, %s sent", composed, sent)
    return {"composed": composed, "sent": sent}


@shared_task(name="notifications.tasks.webhook_deliver_task", ignore_result=True)
def webhook_deliver_task(ids: list[str] | None = None) -> int:
    """Deliver the webhook deliveries `ids` (queued when their event commits), or, from
    beat's sweep, every one due. Safe twice: each delivery is claimed
    (notifications/webhooks.py)."""
    with system_scope():  # every organization's deliveries
        report = webhook_deliver(ids=ids)
    return report.delivered


_webhook_broker_down_until = 0.0


def webhook_deliver_enqueue(ids: list[str]) -> None:
    """Queue the delivery of `ids` now; if the broker is down, the sweep delivers them
    (nothing lost), and requests stop trying it for a while."""
    global _webhook_broker_down_until
    if not ids or time.monotonic() < _webhook_broker_down_until:
        return
    try:
        webhook_deliver_task.apply_async(args=[ids], retry=False)
    except Exception:  # any broker failure: the sweep delivers later
        _webhook_broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning("broker unavailable: webhooks will go out with the next sweep")
