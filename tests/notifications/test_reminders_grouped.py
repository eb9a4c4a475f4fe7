"""Reminders for the same step grouped, not repeated (issue 16 §4): a person told about
one step by a reminder and then by its escalation while the reminder is still unread
gets one in the inbox and one e-mail; a digest lists the step once.

The deadline scan runs as the worker runs it (`deadline_sweep`, time travelled)."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.core import mail
from django.test import Client

from hierarchy import services as hs
from hierarchy.models import Role
from notifications.deadlines import deadline_sweep
from notifications.digests import digests_compose, digests_deliver
from notifications.models import Digest, Notification, NotificationKind, Step, StepKind
from notifications.services import notification_mark_read, step_create
from tests.conftest import make_member

# mid-January: no period of the Q1 cycle has ended, so no check-in is chased meanwhile
T0 = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)


def review_for(person, kr, *, hours: float = 4) -> Step:
    """A review step of `person`'s, opened at T0 and due `hours` later (reminder at 75%)."""
    with time_machine.travel(T0, tick=False):
        return step_create(
            organization_id=kr.organization_id,
            kind=StepKind.DOWNWARD_REVIEW,
            kr=kr,
            source_kr=kr,
            assignee=person,
            due_at=T0 + timedelta(hours=hours),
        )


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return deadline_sweep()


def about(step, person):
    return Notification.objects.filter(step=step, user=person)


def inbox_rows(person, org="acme") -> str:
    client = Client()
    client.force_login(person)
    return client.get(f"/o/{org}/notifications/").content.decode()


def test_a_late_scan_tells_the_assignee_once_and_the_other_admins_each_once(world, planning):
    """The worker was down past the deadline: the reminder and the escalation fall due in
    one scan. The admin who is the assignee gets the escalation only (in the app and by
    e-mail); another admin gets their escalation."""
    other_admin = make_member(world.org, "ada", Role.ADMIN)
    step = review_for(world.admin, planning.pipeline)
    report = sweep_at(T0 + timedelta(hours=5))
    assert (report.reminders, report.escalations) == (1, 1)

    mine = about(step, world.admin)
    assert set(mine.values_list("kind", flat=True)) == {"reminder", "escalation"}
    reminder = mine.get(kind=NotificationKind.REMINDER)
    escalation = mine.get(kind=NotificationKind.ESCALATION)
    assert reminder.grouped_into_id == escalation.pk and reminder.read_at is not None
    assert escalation.grouped_into_id is None and escalation.read_at is None
    assert [m.body for m in mail.outbox if m.to == ["admin@example.test"]] == [escalation.message]
    assert [m.body for m in mail.outbox if m.to == ["ada@example.test"]] == [
        about(step, other_admin).get().message
    ]
    page = inbox_rows(world.admin)
    assert escalation.message in page and reminder.message not in page
    api = Client()
    api.force_login(world.admin)
    listed = api.get("/api/v1/orgs/acme/notifications/").json()["results"]
    assert [n["id"] for n in listed if n["step"] == step.pk] == [escalation.pk]
    assert api.get("/api/v1/orgs/acme/notifications/unread-count/").json()["unread"] == 1


def test_a_reminder_already_read_stays_and_the_escalation_comes_as_news(world, planning):
    step = review_for(world.admin, planning.pipeline)
    sweep_at(T0 + timedelta(hours=3, minutes=1))  # the reminder, at 75%
    reminder = about(step, world.admin).get()
    notification_mark_read(notification=reminder)
    sweep_at(T0 + timedelta(hours=4, minutes=1))  # the escalation
    assert about(step, world.admin).filter(grouped_into__isnull=True).count() == 2
    assert len([m for m in mail.outbox if m.to == ["admin@example.test"]]) == 2


def test_an_unread_reminder_e_mailed_already_is_folded_in_the_inbox_only(world, planning):
    """E-mail at once: the reminder went out when it was due; the escalation hours later
    is a new e-mail. In the inbox the reminder, still unread, gives way to it."""
    step = review_for(world.admin, planning.pipeline)
    sweep_at(T0 + timedelta(hours=3, minutes=1))
    sweep_at(T0 + timedelta(hours=4, minutes=1))
    reminder = about(step, world.admin).get(kind=NotificationKind.REMINDER)
    assert reminder.grouped_into_id is not None
    assert len([m for m in mail.outbox if m.to == ["admin@example.test"]]) == 2
    page = inbox_rows(world.admin)
    assert reminder.message not in page
    assert about(step, world.admin).get(kind=NotificationKind.ESCALATION).message in page


def test_a_missed_check_in_of_a_lead_owning_the_kr_comes_once(world, planning):
    """A lead's own KR without a check-in: the chase reminds the owner and escalates to
    the department's lead: the same person, told once."""
    world.org.checkin_grace_hours = 0.5
    world.org.save()
    maya = world.marketing_lead  # owns "Marketing pipeline", leads Marketing
    sweep_at(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))  # January ended: chased, reminded
    sweep_at(datetime(2026, 2, 2, 10, 0, tzinfo=UTC))  # past the grace: escalated
    step = Step.objects.get(kind=StepKind.CHECKIN, kr=planning.marketing_kr, period=0)
    shown = about(step, maya).filter(grouped_into__isnull=True)
    assert list(shown.values_list("kind", flat=True)) == ["escalation"]
    assert about(step, maya).count() == 2


def test_a_digest_lists_the_step_once_with_the_escalation(world, planning):
    hs.profile_update(
        user=world.admin,
        first_name="",
        last_name="",
        email=world.admin.email,
        time_zone="UTC",
        notify_by="digest",
    )
    step = review_for(world.admin, planning.pipeline)
    sweep_at(T0 + timedelta(hours=3, minutes=1))
    sweep_at(T0 + timedelta(hours=4, minutes=1))
    assert not [m for m in mail.outbox if m.to == ["admin@example.test"]]  # the digest's
    with time_machine.travel(T0 + timedelta(days=1), tick=False):  # 09:00 UTC next day
        assert (digests_compose(), digests_deliver()) == (1, 1)
    [digest] = [m for m in mail.outbox if m.to == ["admin@example.test"]]
    assert digest.body.count(f"/steps/{step.pk}/") == 1
    assert digest.body.count("Reminder: ") == 0 and digest.body.count("Escalation: ") == 1
    assert Digest.objects.get().notification_count == 1
    # every notification about the step is done with (none waits for a digest forever)
    assert not about(step, world.admin).filter(emailed_at__isnull=True).exists()
