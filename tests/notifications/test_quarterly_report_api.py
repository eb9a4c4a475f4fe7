"""The quarterly review report (API.md): each round of each shared KR of a cycle,
with how long each step took and what was missed."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hierarchy import services as hs
from notifications.deadlines import deadline_scan
from notifications.models import Round, Step
from notifications.services import round_close, round_notice, step_answer
from tests.planning import lock, set_plan

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=100)  # the second round starts after the first is closed
SEEN_AT = T1 + timedelta(hours=26)  # when the report is read


def h(n: float) -> timedelta:
    return timedelta(hours=n)


@dataclass
class Rounds:
    closed: Round
    orphaned: Round


def url(cycle_id) -> str:
    return f"/api/v1/orgs/acme/reports/quarterly/?cycle={cycle_id}"


@pytest.fixture
def rounds(world, planning) -> Rounds:
    """A round closed after a missed assessment, and a round nobody sent a notice for."""
    with time_machine.travel(T0, tick=False) as clock:
        lock(planning.pipeline)
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
        closed = Round.objects.get(modified_kr=planning.marketing_kr)
        clock.move_to(T0 + h(2))
        round_notice(round=closed, actor=world.owner, message="Marketing plans 600k less.")
        clock.move_to(T0 + h(5))
        sales = Step.objects.get(round=closed, kind="assess", kr=planning.sales_kr)
        step_answer(step=sales, actor=world.sales_lead, answer="no_change", note="We keep ours.")
        clock.move_to(T0 + h(40))
        deadline_scan()  # the reminder to Partnerships (due at T0 + 50 h)
        clock.move_to(T0 + h(51))
        deadline_scan()  # Partnerships missed it: escalated
        clock.move_to(T0 + h(70))
        round_close(round=closed, actor=world.owner, note="The shared target stays.")

        clock.move_to(T1)
        set_plan(planning.sales_kr, [400000] * 3, rationale="Two reps left")
        orphaned = Round.objects.get(modified_kr=planning.sales_kr)
        clock.move_to(T1 + h(25))
        deadline_scan()  # no notice by T1 + 24 h: reminded before, now escalated and orphaned
    closed.refresh_from_db()
    orphaned.refresh_from_db()
    return Rounds(closed=closed, orphaned=orphaned)


def report(api, user, cycle) -> dict:
    with time_machine.travel(SEEN_AT, tick=False):
        response = api(user).get(url(cycle.pk))
    assert response.status_code == 200, response.content
    return response.json()


def steps_of(row: dict) -> dict[tuple[str, str], dict]:
    return {(s["step"], s["department"] if s["step"] == "assess" else ""): s for s in row["steps"]}


def test_it_reports_a_closed_round_with_step_durations_and_misses(api, world, planning, rounds):
    body = report(api, world.viewer, planning.cycle)
    assert body["cycle"]["id"] == planning.cycle.pk
    assert [k["kr"] for k in body["krs"]] == [
        {
            "id": planning.pipeline.pk,
            "title": "Generate $5M in new pipeline",
            "owner": "owner",
            "department": "Sales",
        }
    ]
    first, second = body["krs"][0]["rounds"]
    assert first["id"] == rounds.closed.pk
    assert second["id"] == rounds.orphaned.pk
    assert first["status"] == "closed"
    assert first["orphaned"] is False
    assert first["modified_kr"] == {
        "id": planning.marketing_kr.pk,
        "title": "Marketing pipeline",
        "department": "Marketing",
    }
    assert first["rationale"] == "Channel algorithm change"
    assert first["started_at"] == "2026-01-12T09:00:00Z"
    assert first["closed_at"] == "2026-01-15T07:00:00Z"
    assert first["notify_hours"] == "2.00"
    assert first["close_hours"] == "70.00"
    assert first["missed"] == ["assess"]
    assert first["reminders"] == 1
    assert first["escalations"] == 1

    steps = steps_of(first)
    assert [s["step"] for s in first["steps"]] == ["notify", "assess", "assess", "close"]
    notify = steps[("notify", "")]
    assert (notify["assignee"], notify["state"], notify["duration_hours"]) == (
        "owner",
        "done",
        "2.00",
    )
    assert notify["done_at"] == "2026-01-12T11:00:00Z"
    assert notify["missed"] is False
    sales = steps[("assess", "Sales")]
    assert (sales["assignee"], sales["answer"], sales["state"]) == ("sam", "no_change", "done")
    assert sales["duration_hours"] == "3.00"  # from the notice, 2 h after T0
    assert sales["missed"] is False
    partnerships = steps[("assess", "Partnerships")]
    assert (partnerships["assignee"], partnerships["state"]) == ("pat", "superseded")
    assert partnerships["done_at"] is None
    assert partnerships["duration_hours"] is None
    assert partnerships["due_at"] == "2026-01-14T11:00:00Z"
    assert partnerships["missed"] is True
    close = steps[("close", "")]
    assert (close["state"], close["duration_hours"], close["missed"]) == ("done", "70.00", False)


def test_it_reports_an_orphaned_round(api, world, planning, rounds):
    body = report(api, world.sales_lead, planning.cycle)
    second = body["krs"][0]["rounds"][1]
    assert second["status"] == "open"
    assert second["orphaned"] is True
    assert second["rationale"] == "Two reps left"
    assert second["modified_kr"]["department"] == "Sales"
    assert second["notify_hours"] is None
    assert second["close_hours"] is None
    assert second["closed_at"] is None
    assert second["missed"] == ["notify"]
    assert second["reminders"] == 1
    assert second["escalations"] == 1
    steps = steps_of(second)
    assert set(steps) == {
        ("notify", ""),
        ("assess", "Marketing"),
        ("assess", "Partnerships"),
        ("close", ""),
    }
    notify = steps[("notify", "")]
    assert (notify["state"], notify["done_at"], notify["missed"]) == ("open", None, True)
    for department in ("Marketing", "Partnerships"):
        assess = steps[("assess", department)]
        assert assess["state"] == "open"
        assert assess["duration_hours"] is None
        assert assess["missed"] is False  # due 48 h after the automatic notice
        assert assess["due_at"] == "2026-01-19T14:00:00Z"
    assert steps[("close", "")]["missed"] is False  # due at T1 + 72 h


def test_it_sums_the_rounds_up(api, world, planning, rounds):
    assert report(api, world.member, planning.cycle)["summary"] == {
        "rounds": 2,
        "closed": 1,
        "orphaned": 1,
        "missed_steps": 2,
        "median_notify_hours": "2.00",
        "median_close_hours": "70.00",
    }


def test_it_counts_a_late_answer_as_missed(api, world, planning, rounds):
    """Marketing answers the orphaned round's assessment after its deadline."""
    step = Step.objects.get(round=rounds.orphaned, kind="assess", kr=planning.marketing_kr)
    with time_machine.travel(T1 + h(25 + 50), tick=False):
        step_answer(step=step, actor=world.marketing_lead, answer="no_change")
    with time_machine.travel(T1 + h(25 + 50), tick=False):
        body = api(world.owner).get(url(planning.cycle.pk)).json()
    second = body["krs"][0]["rounds"][1]
    marketing = steps_of(second)[("assess", "Marketing")]
    assert marketing["duration_hours"] == "50.00"  # from the automatic notice at T1 + 25 h
    assert marketing["missed"] is True
    # Partnerships never answered, and the close is overdue too
    assert sorted(second["missed"]) == ["assess", "assess", "close", "notify"]


def test_it_lists_each_shared_kr_with_its_own_rounds(api, world, planning, nps):
    with time_machine.travel(T0, tick=False) as clock:
        lock(planning.pipeline)
        lock(nps.parent)
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
        clock.move_to(T0 + h(1))
        set_plan(nps.product, [1, 1, 2], rationale="A feature slips to Q2")
        clock.move_to(T0 + h(2))
        body = api(world.owner).get(url(planning.cycle.pk)).json()
    assert [(k["kr"]["title"], len(k["rounds"])) for k in body["krs"]] == [
        ("Generate $5M in new pipeline", 1),
        ("Raise NPS from 32 to 45", 1),
    ]
    nps_round = body["krs"][1]["rounds"][0]
    assert nps_round["modified_kr"]["department"] == "Product"
    assert nps_round["rationale"] == "A feature slips to Q2"
    assert body["summary"]["rounds"] == 2
    assert body["summary"]["median_notify_hours"] is None


def test_it_reports_nothing_for_a_cycle_without_rounds(api, world, planning, rounds):
    q2 = hs.cycle_create(
        org=world.org,
        name="Q2 2026",
        start=date(2026, 4, 1),
        end=date(2026, 6, 30),
        granularity="month",
    )
    body = report(api, world.owner, q2)
    assert body["krs"] == []
    assert body["summary"] == {
        "rounds": 0,
        "closed": 0,
        "orphaned": 0,
        "missed_steps": 0,
        "median_notify_hours": None,
        "median_close_hours": None,
    }


def make_closed_rounds(world, planning, count: int, first: int = 0) -> None:
    """`count` rounds of Marketing's changes, each noticed after 1, 2, 3... hours and
    closed after 10."""
    for i in range(first, first + count):
        start = T0 + timedelta(days=2 * i)
        with time_machine.travel(start, tick=False) as clock:
            set_plan(planning.marketing_kr, [800000 - 1000 * i] * 3, rationale=f"Change {i}")
            round = Round.objects.filter(status="open").get()
            clock.move_to(start + h(i + 1))
            round_notice(round=round, actor=world.owner, message=f"Notice {i}")
            clock.move_to(start + h(10))
            round_close(round=round, actor=world.owner, note=f"Closed {i}")


def test_it_reads_the_report_in_the_same_queries_however_many_rounds(api, world, planning):
    lock(planning.pipeline)
    client = api(world.owner)
    make_closed_rounds(world, planning, 1)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url(planning.cycle.pk)).json()["summary"]["rounds"] == 1
    make_closed_rounds(world, planning, 3, first=1)
    with CaptureQueriesContext(connection) as four:
        body = client.get(url(planning.cycle.pk)).json()
    assert body["summary"]["rounds"] == 4
    assert len(four) == len(one)
    assert body["summary"]["median_notify_hours"] == "2.50"  # 1, 2, 3, 4 hours
    assert body["summary"]["median_close_hours"] == "10.00"


def test_it_requires_a_cycle(api, world, planning):
    response = api(world.owner).get("/api/v1/orgs/acme/reports/quarterly/")
    assert response.status_code == 400
    assert list(response.json()) == ["cycle"]
    for bad in ("abc", "1.5", "", "-1"):
        response = api(world.owner).get(url(bad))
        assert response.status_code == 400, bad
        assert list(response.json()) == ["cycle"]


def test_it_404s_an_unknown_or_foreign_cycle(api, world, planning):
    foreign = hs.cycle_create(
        org=world.other_org,
        name="Q1 2026",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    assert api(world.owner).get(url(foreign.pk)).status_code == 404
    assert api(world.owner).get(url(foreign.pk + 1000)).status_code == 404
    assert api(world.outsider).get(url(foreign.pk)).status_code == 404  # acme, not globex


def test_it_404s_an_outsider(api, world, planning):
    response = api(world.outsider).get(url(planning.cycle.pk))
    assert response.status_code == 404


def test_it_401s_anonymous(api, world, planning):
    assert api().get(url(planning.cycle.pk)).status_code == 401
