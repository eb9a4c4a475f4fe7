"""A poisoned message among others' on a real Celery worker (issue 13 item 1b).

An organization named "N\\r\\nSUMMARY:INJ" made delivery raise BadHeaderError: the
task caught only OSError, the batch stayed claimed, was claimed again after each lease
and failed again, and the other organizations' reminders were still unsent 15 minutes
later. Here a message Django refuses (a recipient with a line break, written straight
to the database as if stored long ago) sits in the middle of several organizations'
messages: the worker marks it failed with its reason and sends every other one once;
its next scans send nothing again.
"""

import time
from collections import Counter

import pytest

from hierarchy.models import Organization, Role
from notifications.models import Notification
from tests.conftest import User, make_member
from tests.workers import database_env, running_worker, wait_for

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

PER_ORG = 20


def test_the_worker_fails_the_poisoned_message_and_sends_the_others_once(world, tmp_path):
    third = Organization.objects.create(name="Initech", slug="initech")
    people = {
        world.org: [world.admin, world.owner, world.marketing_lead],
        world.other_org: [world.outsider],
        third: [make_member(third, "peter", Role.ADMIN)],
    }
    poisoned = make_member(world.other_org, "poisoned")
    User.objects.filter(pk=poisoned.pk).update(email="p@example.test\r\nBcc: all@evil.test")
    rows = []
    for i in range(PER_ORG):
        for org, users in people.items():
            user = users[i % len(users)]
            rows.append(Notification(organization=org, user=user, kind="step", key=f"k{i}"))
        if i == PER_ORG // 2:
            rows.append(
                Notification(organization=world.other_org, user=poisoned, kind="step", key="bad")
            )
    for n, row in enumerate(rows):
        row.message = f"message {n} ({row.key})"
    Notification.objects.bulk_create(rows)
    others = Notification.objects.exclude(key="bad")
    bad = Notification.objects.get(key="bad")

    with running_worker(broker="embedded", db_env=database_env(), workdir=tmp_path) as worker:
        wait_for(
            lambda: (
                not others.filter(emailed_at__isnull=True).exists()
                and Notification.objects.filter(key="bad", email_failed_at__isnull=False).exists()
            ),
            30,
            what="the others e-mailed and the poisoned one failed",
            worker=worker,
        )
        mailed = len(worker.mailbox())
        time.sleep(3)  # three more scans: nothing is sent again, nothing retried
        assert len(worker.mailbox()) == mailed

    bodies = Counter(m.get_content().strip() for m in worker.mailbox())
    assert bodies == Counter(others.values_list("message", flat=True))  # each once
    assert others.count() == 3 * PER_ORG
    bad.refresh_from_db()
    assert bad.emailed_at is None and bad.email_attempts == 1
    assert bad.email_error.startswith("BadHeaderError: Header values can't contain newlines")
    assert "Bcc" not in {h for m in worker.mailbox() for h in m}
