"""Archived KRs (issue 14 item 3): nobody is chased for their check-ins, and what is still
someone's work on them (an open round, an open review) is finished before they go."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from hierarchy import services as hs
from hierarchy.models import KeyResult
from notifications.deadlines import deadline_scan
from notifications.models import Notification, Step
from tests.planning import lock, make_kr, set_plan

D = Decimal
FEB_3 = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def test_the_check_in_chase_skips_archived_krs(planning, world):
    alone = make_kr(world, planning.objective, title="Expansion pipeline", owner=world.owner)
    hs.kr_archive(kr=planning.pipeline, actor=world.owner)  # with its three contributions
    with time_machine.travel(FEB_3, tick=False):
        report = deadline_scan()
    assert list(Step.objects.filter(kind="checkin").values_list("kr_id", flat=True)) == [alone.pk]
    assert report.checkin_chases == 1


def test_archiving_ends_the_chase_of_its_missed_check_ins(planning, world):
    with time_machine.travel(FEB_3, tick=False):
        deadline_scan()  # January missed by the three contributions
    assert Step.objects.filter(kind="checkin", state="open").count() == 3
    hs.kr_archive(kr=planning.pipeline, actor=world.owner)
    assert Step.objects.filter(kind="checkin", state="open").count() == 0
    assert set(Step.objects.filter(kind="checkin").values_list("state", flat=True)) == {
        "superseded"
    }
    with time_machine.travel(FEB_3 + timedelta(days=5), tick=False):
        deadline_scan()
    assert not Notification.objects.filter(kind="escalation").exists()  # no lead chased


def test_an_open_round_or_review_is_finished_first(planning, world):
    lock(planning.pipeline)
    set_plan(planning.sales_kr, [400000, 400000, 400000], rationale="Two reps left")
    with pytest.raises(ValidationError) as refused:
        hs.kr_archive(kr=planning.pipeline, actor=world.owner)
    assert "“Generate $5M in new pipeline” has an open modification round" in str(refused.value)
    assert not KeyResult.objects.filter(archived_at__isnull=False).exists()


def test_an_open_review_on_one_of_them_is_answered_first(planning, world):
    step = Step.objects.create(
        organization=world.org,
        kind="dependency_review",
        kr=planning.marketing_kr,
        assignee=world.marketing_lead,
        due_at=FEB_3,
        remind_at=FEB_3,
    )
    with pytest.raises(ValidationError) as refused:
        hs.objective_archive(objective=planning.objective, actor=world.owner)
    assert "maya has an open step on “Marketing pipeline” (review a dependency)" in str(
        refused.value
    )
    step.state = "done"
    step.save()
    assert len(hs.objective_archive(objective=planning.objective, actor=world.owner)) == 4
