"""The deadline scan under load: 100,000 open steps of which 10,000 are due.

Builds one organization with KRs and 100,000 open steps (bulk-created), 10,000 of
them due for a reminder at the scan's `now`, then times one `deadline_scan(now)`:
every due step claimed in batches (`SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL), a notification recorded per step under its unique key, the steps
marked. Queries per batch are counted in a separate run of the same size.
"""

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hierarchy import services as hs
from hierarchy.models import Department, Membership, Organization, Role
from notifications.deadlines import BATCH_SIZE, deadline_scan
from notifications.models import Notification, Step
from okrplan.lib import tenancy

TOTAL, DUE = 100_000, 10_000
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _org(slug: str) -> tuple[Organization, list[int], int]:
    User = get_user_model()
    org = Organization.objects.create(name=slug, slug=slug)
    owner = User.objects.create(username=f"{slug}-owner", email=f"{slug}@bench.test")
    Membership.objects.create(organization=org, user=owner, role=Role.ADMIN)
    department = Department.objects.create(organization=org, name="Ops", lead=owner)
    cycle = hs.cycle_create(
        org=org, name="Q3", start=date(2026, 7, 1), end=date(2026, 9, 30), granularity="month"
    )  # a cycle that has not begun: the scan's check-in chase has nothing to add
    objective = hs.objective_create(org=org, cycle=cycle, title="Bench", owner=owner)
    krs = [
        hs.kr_create(
            org=org,
            objective=objective,
            title=f"KR {i}",
            owner=owner,
            department=department,
            unit="u",
            metric_kind="cumulative",
            target=Decimal(0),
        ).pk
        for i in range(50)
    ]
    return org, krs, owner.pk


def _steps(org: Organization, krs: list[int], owner_id: int, total: int, due: int) -> None:
    rows = []
    for i in range(total):
        is_due = i % (total // due) == 0
        rows.append(
            Step(
                organization=org,
                kind="assess",
                kr_id=krs[i % len(krs)],
                assignee_id=owner_id,
                due_at=NOW + timedelta(days=3),
                remind_at=NOW - timedelta(minutes=1) if is_due else NOW + timedelta(days=2),
            )
        )
    Step.objects.bulk_create(rows, batch_size=5000)


def measure() -> dict:
    org, krs, owner = _org("deadlines")
    _steps(org, krs, owner, TOTAL, DUE)
    if connection.vendor == "postgresql":
        with tenancy.owner(), connection.cursor() as cursor:  # the table's owner may
            cursor.execute("ANALYZE notifications_step")
    started = time.perf_counter()
    report = deadline_scan(NOW)
    elapsed = time.perf_counter() - started
    sent = Notification.objects.filter(organization=org, kind="reminder").count()
    assert sent == DUE == report.reminders, (sent, report.reminders)

    small, krs2, owner2 = _org("deadlines-queries")
    _steps(small, krs2, owner2, 2_000, 2 * BATCH_SIZE)
    with CaptureQueriesContext(connection) as queries:
        counted = deadline_scan(NOW)
    per_batch = round(len(queries) / max(counted.batches, 1), 1)
    return {
        "scan_100k_s": round(elapsed, 3),
        "steps": TOTAL,
        "due": DUE,
        "batch_size": BATCH_SIZE,
        "batches": report.batches,
        "queries_per_batch": per_batch,
        "target_s": 10,
        "met": elapsed <= 10,
    }
