"""A worker killed in the middle of a deadline scan (SPEC.md §5: "Each reminder or
escalation is sent exactly once, also when a worker dies midway").

The scan claims due steps in batches of `BATCH_SIZE`, and records each batch's
notifications and marks its steps in one transaction. So a SIGKILL can only land
between two batches or inside one that is then rolled back: after a restart the
remaining steps are reminded, and none twice.
"""

import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.deadlines import BATCH_SIZE
from notifications.models import Notification, NotificationKind, Step, StepKind
from tests.workers import database_env, redis_test_url, running_worker, wait_for

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

STEPS = 6 * BATCH_SIZE


@pytest.fixture(params=["embedded", "redis"])
def broker(request) -> str:
    return redis_test_url() if request.param == "redis" else "embedded"


def due_steps(world, planning, n: int) -> None:
    """n open review steps whose reminder is due (their deadline is an hour away)."""
    now = timezone.now()
    krs = [planning.pipeline, planning.marketing_kr, planning.sales_kr, planning.partnerships_kr]
    Step.objects.bulk_create(
        [
            Step(
                organization=world.org,
                kind=StepKind.DOWNWARD_REVIEW,
                kr=kr,
                source_kr=planning.pipeline,
                department_id=kr.department_id,
                assignee_id=kr.owner_id,
                due_at=now + timedelta(hours=1),
                remind_at=now - timedelta(minutes=1),
            )
            for kr in (krs[i % len(krs)] for i in range(n))
        ],
        batch_size=1000,
    )


def test_a_worker_killed_mid_scan_loses_nothing_and_sends_nothing_twice(
    world, planning, broker, tmp_path
):
    """Kill the worker right after the first batch of the first scan commits.

    Deterministic: all 3,000 steps are due before the worker starts, so its first
    scan has six batches of 500 to do, each its own transaction, and the e-mail pass
    only starts after the last one. This process polls the count of reminders every
    5 ms and SIGKILLs the worker's whole process group (main process, pool child
    running the scan, beat) as soon as it sees the first batch. The count it sees
    after the kill must be a whole number of batches short of 3,000: the first batch
    commits 0.2-0.5 s after the scan starts (SQLite and PostgreSQL alike on a 2-CPU
    machine), each next one takes about as long, and the poll and the kill take a few
    milliseconds. Should a machine be so fast that the scan ends first, the assertion
    says so: raise STEPS.

    The restarted worker shares the first one's broker, beat schedule and mailbox.
    The scan message the killed worker held is not needed (beat sends one every
    second): the database, not the broker, knows what is left to do.
    """
    due_steps(world, planning, STEPS)
    # only these steps (not, say, a check-in chase the scan might open): the test's own
    steps = Step.objects.filter(kind=StepKind.DOWNWARD_REVIEW)
    all_steps = set(steps.values_list("pk", flat=True))
    reminders = Notification.objects.filter(
        kind=NotificationKind.REMINDER, step__kind=StepKind.DOWNWARD_REVIEW
    )

    with running_worker(broker=broker, db_env=database_env(), workdir=tmp_path) as worker:
        seen = wait_for(
            reminders.count, 30, interval=0.005, what="the first batch of reminders", worker=worker
        )
        seen_at = timezone.now()
        worker.kill()
        assert worker.proc.returncode == -9
    done = reminders.count()
    scan_started = steps.filter(reminded_at__isnull=False).first().reminded_at
    print(
        f"first batch seen {(seen_at - scan_started).total_seconds():.3f}s after the scan "
        f"started ({seen} reminders); {done} of {STEPS} after the SIGKILL"
    )
    assert 0 < done < STEPS, f"the scan ended before the kill ({done}): raise STEPS"
    assert done % BATCH_SIZE == 0, "a batch was committed in part"
    reminded = set(steps.filter(reminded_at__isnull=False).values_list("pk", flat=True))
    assert set(reminders.values_list("step_id", flat=True)) == reminded
    assert len(reminded) == done
    assert worker.mailbox() == []  # the e-mail pass comes after the scan: not begun

    with running_worker(broker=broker, db_env=database_env(), workdir=tmp_path) as again:
        wait_for(
            lambda: (
                reminders.count() == STEPS and not steps.filter(reminded_at__isnull=True).exists()
            ),
            60,
            what="a reminder for every step",
            worker=again,
        )
        wait_for(
            lambda: (
                not reminders.filter(emailed_at__isnull=True).exists()
                and len(again.mailbox()) >= STEPS
            ),
            90,
            interval=0.5,
            what="every reminder to be e-mailed",
            worker=again,
        )
        time.sleep(2)  # two more scans: nothing is sent again

    # nothing lost: every step reminded, with its notification; nothing twice
    assert reminders.count() == STEPS
    per_step = Counter(reminders.values_list("step_id", flat=True))
    assert set(per_step) == all_steps and set(per_step.values()) == {1}
    assert len(set(reminders.values_list("key", flat=True))) == STEPS
    assert not steps.filter(reminded_at__isnull=True).exists()
    assert not steps.filter(escalated_at__isnull=False).exists()
    # one e-mail per reminder, to the step's assignee
    expected = Counter(steps.values_list("assignee__email", flat=True).order_by("assignee__email"))
    mailbox = again.mailbox()
    assert len(mailbox) == STEPS
    assert Counter(str(m["To"]) for m in mailbox) == expected


def test_a_message_file_left_half_written_does_not_stop_the_restarted_worker(
    world, planning, tmp_path
):
    """A publisher (beat, the web process) SIGKILLed between creating a message file
    and writing it leaves an empty or truncated file in the embedded broker's
    folder; a reader racing a writer reads one too. The worker must set it aside
    and go on (okrplan.lib.fsbroker); kombu's own filesystem transport exits
    ("Unrecoverable error: JSONDecodeError") at every restart, until someone deletes
    the file."""
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    for content in (b"", b'{"body": "eyJhcmdzIjog'):
        name = f"{int(time.monotonic() * 1000)}_{uuid.uuid4()}.celery.msg"
        (broker_dir / name).write_bytes(content)
    due_steps(world, planning, 1)
    reminders = Notification.objects.filter(kind=NotificationKind.REMINDER)
    with running_worker(broker="embedded", db_env=database_env(), workdir=tmp_path) as worker:
        wait_for(reminders.exists, 20, what="the reminder", worker=worker)
