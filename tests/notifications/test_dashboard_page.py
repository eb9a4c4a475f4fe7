"""The organization's dashboard (/o/<org>/dashboard/, issue 16 §1): a cycle's shared KRs by
status and gap, open rounds, overdue steps and missed check-ins, each a link."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hierarchy import services as hs
from notifications.deadlines import checkin_chase
from notifications.models import Round, Step, StepKind
from plans import services as ps
from tests.planning import lock, make_kr, set_plan

D = Decimal
URL = "/o/acme/dashboard/"
MARCH_END = date(2026, 3, 31)


def check_in(kr, period, value):
    kr.refresh_from_db()
    ps.checkin_create(kr=kr, period=period, value=D(value), author=kr.owner, today=MARCH_END)


def section(html: str, id: str) -> str:
    match = re.search(
        rf'<(section|div) class="[^"]*" (aria-labelledby="[^"]+" )?id="{id}".*?</\1>', html, re.S
    )
    assert match, id
    return match.group(0)


def group(html: str, status: str) -> str:
    match = re.search(rf'<div class="status-group" id="status-{status}">.*?</table>', html, re.S)
    return match.group(0) if match else ""


@pytest.fixture
def shared(planning, funnel, nps):
    """The pipeline at risk and 600,000 short by plan, the funnel on track, NPS not
    started and short of its needed 13 points by 1.75 (discounted claims 11.25)."""
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    check_in(planning.marketing_kr, 0, "600000")  # of 800,000
    check_in(planning.sales_kr, 0, "400000")  # of 500,000
    check_in(funnel.paid, 0, "95")  # of 100
    return planning, funnel, nps


def test_it_shows_the_shared_krs_by_status_with_their_gaps(shared, world, client):
    planning, funnel, nps = shared
    client.force_login(world.viewer)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    at_risk, on_track, not_started = (
        group(html, s) for s in ("at_risk", "on_track", "not_started")
    )
    # the pipeline: 1,000,000 of its January plan of 1,666,666.67 (60 %): off track
    off_track = group(html, "off_track")
    assert f'<a href="/o/acme/krs/{planning.pipeline.pk}/alignment/">' in off_track
    assert "600,000 short (12%)" in off_track and "the contributions plan" in off_track
    assert "20%" in off_track  # 1,000,000 of 5,000,000
    assert f'<a href="/o/acme/krs/{funnel.parent.pk}/alignment/">' in on_track
    assert "none" in on_track  # the funnel implies 500 of 500
    assert f'<a href="/o/acme/krs/{nps.parent.pk}/alignment/">' in not_started
    assert "1.75 short (13.46%)" in not_started and "the discounted claims" in not_started
    assert at_risk == ""  # no group without rows
    counts = re.search(r'<nav class="dashboard-counts".*?</nav>', html, re.S).group(0)
    assert re.search(r'href="#status-off_track">.*?>1</span>', counts, re.S)


def test_it_lists_the_open_rounds_and_the_overdue_steps(shared, world, client):
    planning, _, _ = shared
    round = Round.objects.get(parent_kr=planning.pipeline)
    notify = Step.objects.get(round=round, kind=StepKind.NOTIFY)
    Step.objects.filter(pk=notify.pk).update(due_at=timezone.now() - timedelta(hours=3))
    client.force_login(world.viewer)

    html = client.get(URL).content.decode()

    rounds = section(html, "rounds")
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/alignment/#round-{round.pk}"' in rounds
    assert "Marketing modified “Marketing pipeline”" in rounds
    assert "Waiting for: Send the impact notice (owner)" in rounds
    assert "overdue" in rounds
    overdue = section(html, "overdue")
    assert f'<a href="/o/acme/steps/{notify.pk}/">Send the impact notice: “Generate $5M' in overdue


def test_it_lists_the_check_ins_the_chase_found_missing(planning, world, client):
    with time_machine.travel(datetime(2026, 2, 3, 9, tzinfo=UTC)):
        check_in(planning.marketing_kr, 0, "950000")
        checkin_chase()  # January ended: Sales and Partnerships have no check-in
    client.force_login(world.viewer)

    missed = section(client.get(URL).content.decode(), "missed")

    assert f'href="/o/acme/krs/{planning.sales_kr.pk}/plan/#checkins"' in missed
    assert "“Sales outbound pipeline” for Jan 2026" in missed
    assert "“Partner-sourced pipeline” for Jan 2026" in missed
    assert "Marketing pipeline" not in missed  # checked in
    assert "Generate $5M" not in missed  # a shared KR's actuals are its contributions'


def test_it_says_when_nothing_is_waiting(planning, world, client):
    client.force_login(world.viewer)
    html = client.get(URL).content.decode()

    assert "No open rounds." in html
    assert "No step is overdue." in html
    assert "Every period that ended has its check-ins." in html


def test_an_organization_without_a_cycle_is_told_how_to_start(db, world, client):
    client.force_login(world.admin)
    html = client.get(URL).content.decode()
    assert "No cycle yet" in html
    assert 'href="/o/acme/admin/cycles/">Create a cycle</a>' in html


def test_it_shows_the_cycle_asked_for(planning, world, client):
    later = hs.cycle_create(
        org=world.org, name="Q2 2026", start=date(2026, 4, 1), end=date(2026, 6, 30),
        granularity="month",
    )  # fmt: skip
    client.force_login(world.viewer)

    latest = client.get(URL).content.decode()
    asked = client.get(f"{URL}?cycle={planning.cycle.pk}").content.decode()

    assert "Generate $5M" not in latest and f'<option value="{later.pk}" selected>' in latest
    assert "Generate $5M" in asked and f'<option value="{planning.cycle.pk}" selected>' in asked


@pytest.mark.parametrize("cycle", ["foreign", "999999", "first"])
def test_a_cycle_not_of_the_organization_is_refused_alike(planning, world, client, cycle):
    foreign = hs.cycle_create(
        org=world.other_org, name="Globex Q1", start=date(2026, 1, 1), end=date(2026, 3, 31),
        granularity="month",
    )  # fmt: skip
    client.force_login(world.viewer)

    response = client.get(f"{URL}?cycle={foreign.pk if cycle == 'foreign' else cycle}")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose one of the cycles of the list." in html
    assert "Globex" not in html


def _shared_krs(world, objective, count: int):
    for n in range(count):
        parent = make_kr(world, objective, title=f"Shared {n}")
        set_plan(parent, [100, 100, 100])
        for department, lead in (
            (world.marketing, world.marketing_lead),
            (world.sales, world.sales_lead),
        ):
            child = make_kr(
                world, objective, title=f"Part {n} {department.name}", department=department,
                owner=lead, parent=parent,
            )  # fmt: skip
            set_plan(child, [50, 50, 50])
            check_in(child, 0, "40")
        Step.objects.create(
            organization=world.org, kind=StepKind.CHECKIN, kr=child, period=1, assignee=lead,
            due_at=timezone.now() - timedelta(hours=1), remind_at=timezone.now(),
        )  # fmt: skip
        Step.objects.create(
            organization=world.org, kind=StepKind.DOWNWARD_REVIEW, kr=child, assignee=lead,
            due_at=timezone.now() - timedelta(hours=1), remind_at=timezone.now(),
        )  # fmt: skip


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


def test_it_costs_the_same_queries_for_2_and_for_12_shared_krs(planning, world, client):
    """session, user, scope; the cycles; the shared KRs and their check-ins; the KRs
    below (a query a level: the contributions, the none below them) and their check-ins;
    the contributions' rollup rows; the open rounds and their steps; the overdue steps;
    the missed check-ins; the unread badge's count (it reuses the view's scope)."""
    client.force_login(world.viewer)
    objective = planning.objective
    _shared_krs(world, objective, 1)  # the pipeline and one more
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    few = _queries(client)
    _shared_krs(world, objective, 10)
    html = client.get(URL).content.decode()
    assert html.count('<tr id="shared-') == 12

    assert _queries(client) == few
    # PostgreSQL: one more, the organization found by slug and set for row-level security
    assert few == 15 + (connection.vendor == "postgresql")
