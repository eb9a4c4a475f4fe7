"""The daily digest on a real Celery worker, killed while it sends (issue 16 §4: "exactly
once, also when a worker dies mid-send").

A real SMTP server on 127.0.0.1 (tests/smtp.py) holds the worker's first DATA command
unanswered: the worker has composed the digests and is inside its send of the first,
envelope given, message not yet sent. This process SIGKILLs the worker's whole process
group there. A new worker (same broker folder and beat schedule) sends both digests
after the e-mail lease: each person receives exactly one digest e-mail, with the
Message-ID composed once, and no digest is composed twice.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from hierarchy import services as hs
from notifications.models import Digest, Notification
from notifications.services import notification_create
from tests.smtp import smtp_receiver
from tests.workers import database_env, running_worker, wait_for

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 3


def test_a_worker_killed_mid_send_and_a_new_one_deliver_each_digest_exactly_once(world, tmp_path):
    readers = [world.marketing_lead, world.sales_lead]
    for person in readers:
        hs.profile_update(
            user=person,
            first_name="",
            last_name="",
            email=person.email,
            time_zone="UTC",
            notify_by="digest",
        )
        for org in (world.org, world.other_org):
            for i in range(3):
                notification_create(
                    organization_id=org.pk,
                    user_id=person.pk,
                    kind="change",
                    key=f"{person.username}-{org.slug}-{i}",
                    message=f"{org.name} news {i} for {person.username}",
                )
    # yesterday's: in today's digest (DIGEST_HOUR=0: today's is due from midnight UTC)
    Notification.objects.update(created_at=timezone.now() - timedelta(days=1))

    with smtp_receiver() as smtp:
        env = {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_LEASE_SECONDS": str(LEASE_SECONDS),
            "DIGEST_HOUR": "0",
            "DIGEST_SCAN_SECONDS": "1",
        }
        smtp.stall_next_data()
        with running_worker(
            broker="embedded",
            db_env=database_env(),
            workdir=tmp_path,
            extra_env=env,
            scan_seconds=5,  # the deadline scan has nothing to do here: out of the way
        ) as worker:
            wait_for(smtp.stalled.is_set, 60, what="the worker inside its send", worker=worker)
            worker.kill()
            assert worker.proc.returncode == -9
        smtp.release()
        wait_for(lambda: smtp.dropped == 1, 10, what="the receiver to drop the dead connection")
        assert smtp.accepted() == []  # nothing was delivered by the killed worker
        digests = {d.user_id: d for d in Digest.objects.all()}
        assert set(digests) == {p.pk for p in readers}  # both composed before the send
        assert not any(d.emailed_at for d in digests.values())
        claimed = [d for d in digests.values() if d.email_claimed_at is not None]
        assert claimed, "the killed worker had claimed what it was sending"

        with running_worker(
            broker="embedded",
            db_env=database_env(),
            workdir=tmp_path,
            extra_env=env,
            scan_seconds=5,  # the deadline scan has nothing to do here: out of the way
        ) as again:
            wait_for(
                lambda: (
                    len(smtp.accepted()) >= 2
                    and not Digest.objects.filter(emailed_at__isnull=True).exists()
                ),
                60,
                what="both digests delivered after the lease",
                worker=again,
            )
            time.sleep(2 * LEASE_SECONDS)  # more passes, past another lease: nothing again
        accepted = smtp.accepted()

    assert Counter(rcpt for a in accepted for rcpt in a.rcpt_to) == {
        "maya@example.test": 1,
        "sam@example.test": 1,
    }
    assert Digest.objects.count() == 2  # composed once each
    for a in accepted:
        message = a.message
        digest = next(d for d in digests.values() if d.user.email == a.rcpt_to[0])
        assert message["Message-ID"] == digest.message_id
        body = message.get_content()
        username = digest.user.username
        for org in ("Acme", "Globex"):
            assert f"== {org} ==" in body
            for i in range(3):
                assert body.count(f"{org} news {i} for {username}") == 1
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    assert set(Notification.objects.values_list("digest_day", flat=True)) == {timezone.now().date()}
