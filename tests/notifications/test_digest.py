"""The daily digest (issue 16 §4, notifications/digests.py): one e-mail per person per day
at DIGEST_HOUR in their time zone, with everything since the last one, by organization
and KR, each with a link; a step listed once; composed once, delivered at least once
with one Message-ID.

Time is travelled with time-machine; e-mail is Django's test outbox (the worker with a
real SMTP server is tests/notifications/test_worker_digest.py)."""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from hierarchy import services as hs
from hierarchy.models import Membership, Role
from notifications.digests import digest_compose, digest_due, digests_compose, digests_deliver
from notifications.models import Digest, Notification, StepKind
from notifications.services import email_deliver, notification_create, step_create

# Monday 8 June 2026, 22:00 UTC: 07:00 on Tuesday in Tokyo (UTC+9), 18:00 on Monday in
# New York (UTC-4, summer time)
EVENING = datetime(2026, 6, 8, 22, 0, tzinfo=UTC)
TOKYO_EIGHT = datetime(2026, 6, 8, 23, 0, tzinfo=UTC)  # Tuesday 08:00 in Tokyo
NEW_YORK_EIGHT = datetime(2026, 6, 9, 12, 0, tzinfo=UTC)  # Tuesday 08:00 in New York


def choose(user, notify_by: str = "digest", time_zone: str = "Asia/Tokyo") -> None:
    hs.profile_update(
        user=user,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        time_zone=time_zone,
        notify_by=notify_by,
    )


def notify(org, user, key: str, *, kind="change", kr=None, step=None, message=None):
    return notification_create(
        organization_id=org.pk,
        user_id=user.pk,
        kind=kind,
        key=key,
        message=message or f"about {key}",
        kr_id=kr.pk if kr else (step.kr_id if step else None),
        step_id=step.pk if step else None,
    )


def run_at(moment: datetime) -> tuple[int, int]:
    """The digest task's two passes at `moment`: (composed, sent)."""
    with time_machine.travel(moment, tick=False):
        return digests_compose(), digests_deliver()


def outbox_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


# --- When ----------------------------------------------------------------------------


def test_it_waits_for_eight_in_the_persons_time_zone_and_sends_one_a_day(world):
    choose(world.marketing_lead, time_zone="Asia/Tokyo")
    choose(world.sales_lead, time_zone="America/New_York")
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "m1")
        notify(world.org, world.sales_lead, "s1")
        assert email_deliver() == 0  # neither at once
    assert mail.outbox == []

    assert run_at(TOKYO_EIGHT - timedelta(seconds=1)) == (0, 0)  # 07:59:59 in Tokyo
    assert run_at(TOKYO_EIGHT) == (1, 1)  # 08:00 in Tokyo: Maya's; Sam's evening goes on
    [maya] = outbox_to("maya@example.test")
    assert maya.subject == "[okrplan] Your daily digest, Tue 9 Jun: 1 notification"
    assert "about m1" in maya.body and "about s1" not in maya.body
    assert "Times are in Asia/Tokyo." in maya.body
    assert "- 9 Jun 07:00 · Change: about m1" in maya.body  # 22:00 UTC, in Tokyo
    digest = Digest.objects.get(user=world.marketing_lead)
    assert digest.day.isoformat() == "2026-06-09"  # Tokyo's Tuesday

    # more the same day, and the beat's passes all day: nothing until tomorrow's 08:00
    with time_machine.travel(TOKYO_EIGHT + timedelta(hours=1), tick=False):
        notify(world.org, world.marketing_lead, "m2")
    for hours in (2, 6, 12):
        assert run_at(TOKYO_EIGHT + timedelta(hours=hours)) == (0, 0)
    assert len(outbox_to("maya@example.test")) == 1

    assert run_at(NEW_YORK_EIGHT - timedelta(minutes=1)) == (0, 0)
    assert run_at(NEW_YORK_EIGHT) == (1, 1)  # 08:00 in New York: Sam's
    [sam] = outbox_to("sam@example.test")
    assert "about s1" in sam.body and "- 8 Jun 18:00 · Change: about s1" in sam.body

    # the next day's: only what came since the last one
    assert run_at(TOKYO_EIGHT + timedelta(days=1)) == (1, 1)
    maya_second = outbox_to("maya@example.test")[1]
    assert "about m2" in maya_second.body and "about m1" not in maya_second.body
    assert maya_second.subject.startswith("[okrplan] Your daily digest, Wed 10 Jun")


def test_a_day_with_nothing_new_has_no_digest_and_the_next_gathers_all_since(world):
    choose(world.marketing_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "first")
    run_at(TOKYO_EIGHT)
    assert run_at(TOKYO_EIGHT + timedelta(days=1)) == (0, 0)  # nothing new: no e-mail
    with time_machine.travel(TOKYO_EIGHT + timedelta(days=1, hours=3), tick=False):
        notify(world.org, world.marketing_lead, "later")
    with time_machine.travel(TOKYO_EIGHT + timedelta(days=2, hours=2), tick=False):
        notify(world.org, world.marketing_lead, "after eight")  # 10:00: tomorrow's
    assert run_at(TOKYO_EIGHT + timedelta(days=2, hours=3)) == (1, 1)  # late: a pass at 11:00
    digest = Digest.objects.get(day="2026-06-11")
    assert "about later" in digest.body and "about after eight" not in digest.body
    assert [m.subject[:43] for m in mail.outbox] == [
        "[okrplan] Your daily digest, Tue 9 Jun: 1 n",
        "[okrplan] Your daily digest, Thu 11 Jun: 1 ",
    ]


def test_a_worker_down_overnight_sends_the_day_it_missed_once_when_it_is_back(world):
    choose(world.marketing_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "overnight")
    # back at 06:00 on Wednesday in Tokyo: Tuesday's was missed; it goes now, once
    assert run_at(TOKYO_EIGHT + timedelta(hours=22)) == (1, 1)
    assert Digest.objects.get().day.isoformat() == "2026-06-09"
    assert run_at(TOKYO_EIGHT + timedelta(hours=23)) == (0, 0)


def test_it_uses_the_servers_zone_for_a_person_without_one(world, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    choose(world.marketing_lead, time_zone="")
    assert digest_due(now=datetime(2026, 6, 9, 6, 0, tzinfo=UTC), time_zone="") == (
        datetime(2026, 6, 9).date(),
        datetime(2026, 6, 9, 6, 0, tzinfo=UTC),  # 08:00 in Berlin (UTC+2)
    )


def test_the_hour_is_a_setting(world, settings):
    settings.DIGEST_HOUR = 18
    choose(world.marketing_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "x")
    assert run_at(TOKYO_EIGHT) == (0, 0)
    assert run_at(TOKYO_EIGHT + timedelta(hours=10)) == (1, 1)  # 18:00 in Tokyo
    assert "once a day at 18:00 in your time zone" in mail.outbox[0].body


# --- Who gets what ----------------------------------------------------------------


def test_the_others_choices_are_as_before_and_a_digest_reader_gets_nothing_at_once(world):
    choose(world.marketing_lead)
    choose(world.sales_lead, notify_by="in_app")
    notify(world.org, world.marketing_lead, "digest")
    notify(world.org, world.sales_lead, "app")
    notify(world.org, world.owner, "at once")  # no profile: e-mail at once
    assert email_deliver() == 2  # the in-app one is done with, unsent
    assert [m.to for m in mail.outbox] == [["owner@example.test"]]
    waiting = Notification.objects.get(key="digest")
    assert waiting.emailed_at is None and waiting.digest_day is None
    assert email_deliver() == 0  # not claimed again and again


def test_switching_from_the_digest_to_e_mail_at_once_sends_what_waits(world):
    choose(world.marketing_lead)
    notify(world.org, world.marketing_lead, "waiting")
    assert email_deliver() == 0
    choose(world.marketing_lead, notify_by="email")
    assert email_deliver() == 1
    assert [m.body for m in mail.outbox] == ["about waiting"]
    assert digests_compose(now=timezone.now() + timedelta(days=1)) == 0  # not twice


def test_switching_to_the_digest_leaves_what_was_sent_and_gathers_the_rest(world):
    notify(world.org, world.marketing_lead, "sent at once")
    email_deliver()
    choose(world.marketing_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "for the digest")
    run_at(TOKYO_EIGHT)
    body = Digest.objects.get().body
    assert "about for the digest" in body and "sent at once" not in body
    assert len(mail.outbox) == 2


# --- What it says -----------------------------------------------------------------


def test_it_groups_by_organization_and_kr_with_links_and_lists_a_step_once(
    world, planning, settings
):
    settings.SITE_URL = "https://okr.example.test"
    maya = world.marketing_lead
    maya.first_name, maya.last_name = "Maya", "Lee"
    maya.save()
    choose(maya)
    Membership.objects.create(organization=world.other_org, user=maya, role=Role.MEMBER)
    with time_machine.travel(EVENING - timedelta(hours=3), tick=False):
        step = step_create(
            organization_id=world.org.pk,
            kind=StepKind.DOWNWARD_REVIEW,
            kr=planning.marketing_kr,
            source_kr=planning.pipeline,
            assignee=maya,
            due_at=EVENING + timedelta(days=2),
        )
        notify(world.org, maya, "assigned", kind="review", step=step, message="Review it.")
        notify(world.other_org, maya, "globex", message="Something at Globex.")
        notify(world.org, maya, "parent", kr=planning.pipeline, message="The pipeline moved.")
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, maya, "reminded", kind="reminder", step=step, message="Reminder!")
        notify(world.org, maya, "plain", message="Not about a KR.")
    run_at(TOKYO_EIGHT)

    [sent] = mail.outbox
    acme = sent.body.index("== Acme ==")
    globex = sent.body.index("== Globex ==")
    assert acme < globex  # organizations by name
    assert sent.body.startswith("Hello Maya Lee,\n")
    assert "5 notifications since your last digest" in sent.body
    assert "Your inbox there: https://okr.example.test/o/acme/notifications/" in sent.body
    assert "Your inbox there: https://okr.example.test/o/globex/notifications/" in sent.body
    kr = planning.marketing_kr.pk
    expected = (
        f"“Marketing pipeline”: https://okr.example.test/o/acme/krs/{kr}/plan/\n"
        f"  Step: review a change of the parent, due 11 Jun 07:00: "
        f"https://okr.example.test/o/acme/steps/{step.pk}/\n"
        "    - 9 Jun 04:00 · Review requested: Review it.\n"
        "    - 9 Jun 07:00 · Reminder: Reminder!\n"
    )
    assert expected in sent.body  # the step once, its notifications under it
    assert sent.body.count(f"/steps/{step.pk}/") == 1
    pipeline = planning.pipeline.pk  # a shared KR: its combined view
    assert (
        f"“Generate $5M in new pipeline”: https://okr.example.test/o/acme/krs/{pipeline}"
        "/alignment/\n  - 9 Jun 04:00 · Change: The pipeline moved." in sent.body
    )
    assert "Not about a key result:\n  - 9 Jun 07:00 · Change: Not about a KR." in sent.body
    assert "Change it on your profile: https://okr.example.test/accounts/profile/" in sent.body
    assert sent.extra_headers["Message-ID"] == Digest.objects.get().message_id
    assert Digest.objects.get().message_id.endswith("@okr.example.test>")


# --- Exactly once -----------------------------------------------------------------

SENT_BEFORE_DYING = 1


class WorkerDied(BaseException):
    """Stands for the SIGKILL: nothing after it runs, no `except Exception` catches it."""


class DyingBackend(EmailBackend):
    """Django's test outbox, with the process dying while it sends the second digest."""

    def send_messages(self, messages):
        if len(mail.outbox) >= SENT_BEFORE_DYING:
            raise WorkerDied
        return super().send_messages(messages)


def test_a_second_composer_of_the_same_day_writes_nothing(world):
    choose(world.marketing_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "once")
    day, cutoff = digest_due(now=TOKYO_EIGHT, time_zone="Asia/Tokyo")
    first = digest_compose(user_id=world.marketing_lead.pk, day=day, cutoff=cutoff, now=TOKYO_EIGHT)
    assert first is not None and first.notification_count == 1
    # a worker that read before the first committed, composing the same day: refused
    Notification.objects.filter(key="once").update(digest_day=None)
    again = digest_compose(user_id=world.marketing_lead.pk, day=day, cutoff=cutoff, now=TOKYO_EIGHT)
    assert again is None
    assert Digest.objects.count() == 1
    assert Notification.objects.get(key="once").digest_day is None  # rolled back with it


def test_a_worker_dying_mid_send_leaves_the_digest_to_the_next_after_the_lease(world, settings):
    choose(world.marketing_lead)
    choose(world.sales_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "maya's")
        notify(world.org, world.sales_lead, "sam's")
    settings.EMAIL_BACKEND = f"{__name__}.DyingBackend"
    with time_machine.travel(TOKYO_EIGHT, tick=False):
        assert digests_compose() == 2
        with pytest.raises(WorkerDied):
            digests_deliver()
    assert len(mail.outbox) == 1
    first, second = Digest.objects.order_by("id")
    assert first.emailed_at is not None and second.emailed_at is None
    assert second.email_claimed_at is not None  # claimed by the dead worker

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert run_at(TOKYO_EIGHT + timedelta(seconds=10)) == (0, 0)  # the lease holds
    lease = timedelta(seconds=settings.EMAIL_LEASE_SECONDS + 1)
    assert run_at(TOKYO_EIGHT + lease) == (0, 1)  # the next worker, after the lease
    assert run_at(TOKYO_EIGHT + 2 * lease) == (0, 0)
    assert sorted(m.to[0] for m in mail.outbox) == ["maya@example.test", "sam@example.test"]
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [
        first.message_id,
        second.message_id,
    ]
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    assert Digest.objects.filter(emailed_at__isnull=False).count() == 2


class RefusingBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"No such mailbox")})


def test_a_refused_digest_is_failed_with_its_reason_and_the_others_go_out(world, settings):
    choose(world.marketing_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "refused")
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    assert run_at(TOKYO_EIGHT) == (1, 0)
    digest = Digest.objects.get()
    assert digest.email_failed_at is not None and digest.email_attempts == 1
    assert digest.email_error.startswith("SMTPRecipientsRefused")
    refused = Notification.objects.get(key="refused")
    assert refused.email_failed_at is not None
    assert refused.email_error.startswith("In the daily digest of 2026-06-09, which failed.")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert run_at(TOKYO_EIGHT + timedelta(days=1)) == (0, 0)  # not tried again


def test_a_person_without_an_address_has_their_digest_done_with(world):
    choose(world.marketing_lead)
    with time_machine.travel(EVENING, tick=False):
        notify(world.org, world.marketing_lead, "x")
    world.marketing_lead.email = ""
    world.marketing_lead.save()
    assert run_at(TOKYO_EIGHT) == (1, 1)
    assert mail.outbox == []
    assert Digest.objects.get().emailed_at is not None
