"""The 24-48-72 protocol played out by a real Celery worker (SPEC.md §5, API.md
"Deadlines in practice").

The organization's hours are set to seconds, the worker (with beat) scans every
second against this test's own database and broker, and the test process acts as
the web process: it modifies a locked plan, sends the notice, answers, closes. The
worker, on its own, reminds, escalates, flags the orphaned round, sends the
automatic notice and e-mails everybody: each message exactly once.

Run on SQLite and the embedded broker by default, and with Redis when it answers
(CI must have it); `-m pg` with DATABASE_URL runs them again on PostgreSQL.
"""

import time
from collections import Counter
from decimal import Decimal

import pytest

from hierarchy.models import Organization, Role
from notifications import services
from notifications.models import (
    Answer,
    Notification,
    NotificationKind,
    Round,
    RoundEvent,
    RoundStatus,
    Step,
    StepKind,
    StepState,
)
from tests.conftest import make_member
from tests.planning import lock, set_plan
from tests.workers import database_env, redis_test_url, running_worker, wait_for

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

K = NotificationKind


def seconds(n: float) -> Decimal:
    """n seconds in the organization's hours (6 decimal places: within 4 ms)."""
    return (Decimal(str(n)) / Decimal(3600)).quantize(Decimal("0.000001"))


@pytest.fixture(params=["embedded", "redis"])
def broker(request) -> str:
    return redis_test_url() if request.param == "redis" else "embedded"


def sent(round, kinds) -> Counter:
    """(kind, user, step) of the round's notifications of these kinds: each should count 1."""
    return Counter(
        Notification.objects.filter(round=round, kind__in=kinds).values_list(
            "kind", "user_id", "step_id"
        )
    )


def assert_every_notification_emailed_once(worker, org) -> None:
    """Every notification has gone out by e-mail, and exactly one e-mail for each."""
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    expected = Counter(
        (n.user.email, f"[okrplan · {org.name}] {n.get_kind_display()}")
        for n in Notification.objects.select_related("user")
    )
    mailed = Counter((str(m["To"]), str(m["Subject"])) for m in worker.mailbox())
    assert mailed == expected


def wait_emailed(worker) -> None:
    wait_for(
        lambda: (
            not Notification.objects.filter(emailed_at__isnull=True).exists()
            and len(worker.mailbox()) == Notification.objects.count()
        ),
        15,
        what="every notification to be e-mailed",
        worker=worker,
    )


def test_a_missed_round_plays_out_on_the_worker(world, planning, broker, tmp_path):
    """Nobody acts after the modification: reminder, escalation at the deadline,
    orphaned round with the automatic notice, then the assess and close steps'
    reminders and escalations: all by the worker, each exactly once."""
    org = world.org
    second_admin = make_member(org, "ada", Role.ADMIN)
    admins = {world.admin.pk, second_admin.pk}
    Organization.objects.filter(pk=org.pk).update(
        notify_hours=seconds(6), assess_hours=seconds(6), close_hours=seconds(16)
    )
    lock(planning.pipeline)
    sales, partnerships = planning.sales_kr, planning.partnerships_kr

    with running_worker(broker=broker, db_env=database_env(), workdir=tmp_path) as worker:
        set_plan(planning.marketing_kr, [900000, 1000000, 1000000], rationale="Fair cancelled")
        round = Round.objects.get(parent_kr=planning.pipeline)
        notify = round.steps.get(kind=StepKind.NOTIFY)
        close = round.steps.get(kind=StepKind.CLOSE)
        assert notify.due_at - round.started_at == services.hours(seconds(6))

        # Reminders at 3/4 of each window: notify at T0+4.5 s, due T0+6 s; the assess
        # steps opened then, due 6 s later; close at T0+12 s, due T0+16 s.
        wait_for(
            lambda: Step.objects.filter(round=round, escalated_at__isnull=False).count() == 4,
            30,
            what="the escalation of all four steps",
            worker=worker,
        )
        wait_emailed(worker)
        time.sleep(2.5)  # two more scans: nothing is sent again
        # e-mail queued on commit (by this process, the web side, and by the worker), delivered
        assert worker.tasks_succeeded("notifications.tasks.email_deliver_task") >= 1

    round.refresh_from_db()
    assert round.orphaned and round.status == RoundStatus.OPEN
    notify.refresh_from_db()
    assess = {s.kr_id: s for s in round.steps.filter(kind=StepKind.ASSESS)}
    assert set(assess) == {sales.pk, partnerships.pk}
    steps = [notify, assess[sales.pk], assess[partnerships.pk], close]
    for step in steps:
        step.refresh_from_db()
        assert step.state == StepState.OPEN
        assert step.remind_at <= step.reminded_at < step.due_at <= step.escalated_at
    # the missed notice is what orphans the round, and opens the assess steps
    assert notify.due_at <= round.orphaned_at == notify.escalated_at
    for step in steps[1:3]:
        assert step.created_at >= round.orphaned_at
        assert step.due_at - round.orphaned_at == services.hours(seconds(6))

    owner, sam, pat = world.owner.pk, world.sales_lead.pk, partnerships.owner_id
    assert sent(round, [K.REMINDER, K.ESCALATION, K.ORPHAN_NOTICE, K.IMPACT_NOTICE]) == Counter(
        {
            (K.REMINDER, owner, notify.pk): 1,
            (K.REMINDER, sam, assess[sales.pk].pk): 1,
            (K.REMINDER, pat, assess[partnerships.pk].pk): 1,
            (K.REMINDER, owner, close.pk): 1,
            **{(K.ESCALATION, admin, step.pk): 1 for admin in admins for step in steps},
            (K.ORPHAN_NOTICE, sam, None): 1,
            (K.ORPHAN_NOTICE, pat, None): 1,
        }
    )
    orphan_notices = Notification.objects.filter(kind=K.ORPHAN_NOTICE)
    assert {n.kr_id for n in orphan_notices} == {sales.pk, partnerships.pk}
    assert all("Fair cancelled" in n.message for n in orphan_notices)
    assert (
        set(
            Notification.objects.filter(kind=K.ESCALATION, step=notify).values_list(
                "user", flat=True
            )
        )
        == admins
    )

    history = list(RoundEvent.objects.filter(round=round).order_by("at", "id"))
    assert [(e.kind, e.step_id) for e in history[:5]] == [
        ("started", None),
        ("reminder", notify.pk),
        ("escalation", notify.pk),
        ("orphaned", None),
        ("orphan_notice", None),
    ]
    rest = [(e.kind, e.step_id) for e in history[5:]]
    assert Counter(rest) == Counter(
        (kind, step.pk) for kind in ("reminder", "escalation") for step in steps[1:]
    )
    for step in steps[1:]:
        assert rest.index(("reminder", step.pk)) < rest.index(("escalation", step.pk))

    assert_every_notification_emailed_once(worker, org)


def test_a_round_answered_in_time_has_no_escalation(world, planning, broker, tmp_path):
    """The parent owner sends the notice at once, Sales answers "no change", and
    Partnerships modifies its plan after the worker's reminder, before its deadline;
    the owner closes. The worker reminds once and escalates nothing, even after the
    steps' original deadlines have passed."""
    org = world.org
    Organization.objects.filter(pk=org.pk).update(
        notify_hours=seconds(6), assess_hours=seconds(16), close_hours=seconds(40)
    )
    lock(planning.pipeline)
    sales, partnerships = planning.sales_kr, planning.partnerships_kr

    with running_worker(broker=broker, db_env=database_env(), workdir=tmp_path) as worker:
        set_plan(planning.marketing_kr, [900000, 1000000, 1000000], rationale="Fair cancelled")
        round = Round.objects.get(parent_kr=planning.pipeline)
        services.round_notice(
            round=round, actor=world.owner, message="Marketing plans $100k less in January."
        )
        assess_sales = round.steps.get(kind=StepKind.ASSESS, kr=sales)
        assess_partnerships = round.steps.get(kind=StepKind.ASSESS, kr=partnerships)
        services.step_answer(
            step=assess_sales, actor=world.sales_lead, answer=Answer.NO_CHANGE, note="We hold."
        )
        # the worker reminds Partnerships at 3/4 of its 16 s; it answers by modifying
        wait_for(
            lambda: Notification.objects.filter(kind=K.REMINDER).exists(),
            25,
            what="the reminder of the assess step",
            worker=worker,
        )
        assess_partnerships.refresh_from_db()
        assert assess_partnerships.state == StepState.OPEN
        assert time.time() < assess_partnerships.due_at.timestamp(), "too late to answer"
        set_plan(partnerships, [150000, 200000, 200000], rationale="One more partner for Q1")
        services.round_close(round=round, actor=world.owner, note="The shared target stays.")
        # past every deadline the round had, and two scans more: nothing escalates
        wait_for(
            lambda: time.time() > assess_partnerships.due_at.timestamp() + 2.5,
            30,
            what="the assess deadline to pass",
        )
        wait_emailed(worker)
        assert worker.tasks_succeeded("notifications.tasks.email_deliver_task") >= 1

    round.refresh_from_db()
    assert round.status == RoundStatus.CLOSED and not round.orphaned
    steps = {(s.kind, s.kr_id): s for s in round.steps.all()}
    notify = steps[StepKind.NOTIFY, planning.pipeline.pk]
    assert notify.state == StepState.DONE
    assert notify.reminded_at is None and notify.escalated_at is None
    assess_sales.refresh_from_db()
    assess_partnerships.refresh_from_db()
    assert (assess_sales.answer, assess_sales.reminded_at) == (Answer.NO_CHANGE, None)
    assert assess_partnerships.answer == Answer.MODIFIED
    assert assess_partnerships.reminded_at is not None
    assert not Step.objects.filter(escalated_at__isnull=False).exists()
    assert steps[StepKind.CLOSE, planning.pipeline.pk].state == StepState.DONE

    owner, maya, sam, pat = (
        world.owner.pk,
        world.marketing_lead.pk,
        world.sales_lead.pk,
        partnerships.owner_id,
    )
    assert sent(
        round, [K.REMINDER, K.ESCALATION, K.ORPHAN_NOTICE, K.IMPACT_NOTICE, K.ROUND_CLOSED]
    ) == Counter(
        {
            (K.REMINDER, pat, assess_partnerships.pk): 1,
            (K.IMPACT_NOTICE, sam, None): 1,
            (K.IMPACT_NOTICE, pat, None): 1,
            (K.ROUND_CLOSED, maya, None): 1,
            (K.ROUND_CLOSED, sam, None): 1,
            (K.ROUND_CLOSED, pat, None): 1,
        }
    )
    assert Notification.objects.filter(kind=K.STEP, user=owner, step=notify).count() == 1
    history = RoundEvent.objects.filter(round=round).order_by("at", "id")
    assert [(e.kind, e.step_id) for e in history] == [
        ("started", None),
        ("notice_sent", notify.pk),
        ("assessed", assess_sales.pk),
        ("reminder", assess_partnerships.pk),
        ("assessed", assess_partnerships.pk),
        ("closed", None),
    ]
    assert_every_notification_emailed_once(worker, org)
