"""E-mail delivery honours the person's choice (issue 14 item 1, the profile's
"Notifications"): in-app only sends nothing; e-mail at once sends at once; the daily
digest sends nothing at once (tests/notifications/test_digest.py sends it); someone
without an account yet is e-mailed."""

from django.core import mail

from hierarchy import services as hs
from notifications.models import Notification
from notifications.services import email_deliver, notification_create


def _choose(user, notify_by: str) -> None:
    hs.profile_update(
        user=user, first_name="", last_name="", email=user.email, time_zone="", notify_by=notify_by
    )


def _notify(world, user, key: str, email: str = "") -> Notification:
    return notification_create(
        organization_id=world.org.pk,
        user_id=user.pk if user else None,
        kind="step",
        key=key,
        message=f"about {key}",
        email=email,
    )


def test_in_app_only_sends_no_e_mail_and_leaves_the_notification_in_the_inbox(world):
    _choose(world.marketing_lead, "in_app")
    quiet = _notify(world, world.marketing_lead, "quiet")
    _notify(world, world.sales_lead, "loud")  # no profile: e-mail at once
    assert email_deliver() == 2
    assert [m.to for m in mail.outbox] == [["sam@example.test"]]
    quiet.refresh_from_db()
    assert quiet.emailed_at is not None and quiet.email_error == ""  # done with, not failed
    assert quiet.read_at is None  # still unread in the inbox
    assert email_deliver() == 0 and len(mail.outbox) == 1  # not picked up again


def test_e_mail_at_once_sends_at_once(world):
    _choose(world.marketing_lead, "email")
    _notify(world, world.marketing_lead, "once")
    assert email_deliver() == 1
    assert [m.to for m in mail.outbox] == [["maya@example.test"]]


def test_the_digest_sends_nothing_at_once_and_keeps_the_notification_waiting(world):
    _choose(world.marketing_lead, "digest")
    waiting = _notify(world, world.marketing_lead, "later")
    assert email_deliver() == 0 and mail.outbox == []
    waiting.refresh_from_db()
    assert waiting.emailed_at is None and waiting.email_claimed_at is None


def test_someone_invited_by_e_mail_without_an_account_is_e_mailed(world):
    _notify(world, None, "invite", email="new@example.test")
    assert email_deliver() == 1
    assert [m.to for m in mail.outbox] == [["new@example.test"]]


def test_choosing_in_app_later_keeps_what_was_sent_and_stops_the_rest(world):
    _notify(world, world.marketing_lead, "before")
    email_deliver()
    _choose(world.marketing_lead, "in_app")
    _notify(world, world.marketing_lead, "after")
    email_deliver()
    assert [m.body for m in mail.outbox] == ["about before"]
