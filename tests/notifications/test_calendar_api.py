"""The planning calendar as iCalendar (API.md): the cycles with their alignment
meeting and mid-cycle check, and every open deadline of the organization."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar

from hierarchy import services as hs
from notifications.deadlines import checkin_chase
from notifications.models import Round, Step
from notifications.services import round_notice
from tests.planning import lock, set_plan

URL = "/api/v1/orgs/acme/calendar.ics"
T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def noticed(world, planning) -> Round:
    """Marketing modified its locked plan at T0; the notice went out 2 hours later.

    Open then: the assessments of Sales and Partnerships, and the owner's close."""
    with time_machine.travel(T0, tick=False) as clock:
        lock(planning.pipeline)
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
        round = Round.objects.get(modified_kr=planning.marketing_kr)
        clock.move_to(T0 + timedelta(hours=2))
        round_notice(round=round, actor=world.owner, message="Marketing plans 600k less.")
    return round


def fetch(api, user, **headers) -> tuple[Calendar, dict]:
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        response = api(user).get(URL, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return calendar, {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_it_describes_the_calendar(api, world, planning):
    calendar, _ = fetch(api, world.viewer)
    assert str(calendar["PRODID"]) == "-//okrplan//calendar//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert "Acme" in str(calendar["X-WR-CALNAME"])


def test_it_has_the_cycle_its_alignment_meeting_and_mid_cycle_check(api, world, planning):
    _, events = fetch(api, world.member)
    prefix = f"cycle-{planning.cycle.pk}"
    alignment = events[f"{prefix}-alignment@okrplan"]
    assert str(alignment["SUMMARY"]) == "Alignment meeting · Q1 2026"
    assert alignment.decoded("DTSTART") == date(2026, 1, 11)  # day 11 of the cycle
    assert alignment.decoded("DTEND") == date(2026, 1, 12)
    midcycle = events[f"{prefix}-midcycle@okrplan"]
    assert str(midcycle["SUMMARY"]) == "Mid-cycle check · Q1 2026"
    assert midcycle.decoded("DTSTART") == date(2026, 2, 5)  # first day of week 6
    cycle = events[f"{prefix}@okrplan"]
    assert (cycle.decoded("DTSTART"), cycle.decoded("DTEND")) == (
        date(2026, 1, 1),
        date(2026, 4, 1),
    )


def test_it_has_every_open_step_with_its_deadline(api, world, planning, noticed):
    _, events = fetch(api, world.sales_lead)
    steps = {
        s.kind + ":" + (s.department.name if s.kind == "assess" else ""): s
        for s in Step.objects.filter(round=noticed)
    }
    for key in ("assess:Sales", "assess:Partnerships", "close:"):
        step = steps[key]
        event = events[f"step-{step.pk}@okrplan"]
        assert event.decoded("DTEND") == step.due_at
        assert event.decoded("DTSTART") == step.due_at - timedelta(minutes=15)
    sales = events[f"step-{steps['assess:Sales'].pk}@okrplan"]
    assert str(sales["SUMMARY"]) == (
        "Due: assess the impact on your plan “Sales outbound pipeline” (you)"
    )
    assert sales.decoded("DTEND") == datetime(2026, 1, 14, 11, 0, tzinfo=UTC)
    partnerships = events[f"step-{steps['assess:Partnerships'].pk}@okrplan"]
    assert str(partnerships["SUMMARY"]) == (
        "Due: assess the impact on “Partner-sourced pipeline” (pat)"
    )
    close = events[f"step-{steps['close:'].pk}@okrplan"]
    assert str(close["SUMMARY"]) == "Due: close the round on “Generate $5M in new pipeline” (owner)"
    assert close.decoded("DTEND") == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_it_leaves_out_done_steps(api, world, planning, noticed):
    notify = Step.objects.get(round=noticed, kind="notify")
    assert notify.state == "done"
    _, events = fetch(api, world.owner)
    assert f"step-{notify.pk}@okrplan" not in events
    step_uids = sorted(uid for uid in events if uid.startswith("step-"))
    assert len(step_uids) == 3
    mine = [str(events[uid]["SUMMARY"]) for uid in step_uids if "(you)" in events[uid]["SUMMARY"]]
    assert mine == ["Due: close the round on “Generate $5M in new pipeline” (you)"]


def test_it_names_the_period_of_a_missed_check_in(api, world, planning):
    with time_machine.travel(datetime(2026, 2, 2, 8, 0, tzinfo=UTC), tick=False):
        assert checkin_chase() == 3  # January ended without check-ins (leaf KRs)
        response = api(world.marketing_lead).get(URL)
    events = Calendar.from_ical(response.content).walk("VEVENT")
    checkins = sorted(str(e["SUMMARY"]) for e in events if str(e["UID"]).startswith("step-"))
    assert "Due: check in on “Marketing pipeline” for Jan 2026 (you)" in checkins
    assert "Due: check in on “Sales outbound pipeline” for Jan 2026 (sam)" in checkins
    assert len(checkins) == 3


def test_it_leaves_out_old_cycles_and_other_organizations(api, world, planning):
    old = hs.cycle_create(
        org=world.org,
        name="Q1 2024",
        start=date(2024, 1, 1),
        end=date(2024, 3, 31),
        granularity="month",
    )
    last_year = hs.cycle_create(
        org=world.org,
        name="Q2 2025",
        start=date(2025, 4, 1),
        end=date(2025, 6, 30),
        granularity="month",
    )
    foreign = hs.cycle_create(
        org=world.other_org,
        name="Q1 2026",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    _, events = fetch(api, world.owner)
    assert f"cycle-{old.pk}@okrplan" not in events  # ended nearly two years ago
    assert f"cycle-{last_year.pk}-alignment@okrplan" in events
    assert f"cycle-{foreign.pk}@okrplan" not in events


def test_it_answers_a_client_that_asks_for_text_calendar(api, world, planning):
    fetch(api, world.owner, HTTP_ACCEPT="text/calendar")
    fetch(api, world.owner, HTTP_ACCEPT="text/calendar, */*;q=0.5")


def test_it_406s_json_in_json(api, world, planning):
    response = api(world.owner).get(URL, HTTP_ACCEPT="application/json")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_it_404s_an_outsider_in_json(api, world, planning):
    response = api(world.outsider).get(URL, HTTP_ACCEPT="text/calendar")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_it_401s_anonymous(api, world, planning):
    response = api().get(URL)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_it_has_the_period_ends_when_check_ins_are_due(api, world, planning):
    _, events = fetch(api, world.member)
    prefix = f"cycle-{planning.cycle.pk}"
    ends = [
        (e.decoded("DTSTART"), str(e["SUMMARY"])) for uid, e in events.items() if "-period-" in uid
    ]
    assert sorted(ends) == [
        (date(2026, 1, 31), "Check-ins due: Jan 2026 ends · Q1 2026"),
        (date(2026, 2, 28), "Check-ins due: Feb 2026 ends · Q1 2026"),
        (date(2026, 3, 31), "Check-ins due: Mar 2026 ends · Q1 2026"),
    ]
    assert events[f"{prefix}-period-0@okrplan"].decoded("DTEND") == date(2026, 2, 1)


def test_it_answers_for_data_stored_before_names_and_dates_were_bounded(api, world, planning):
    """Issue 13 item 7: a cycle ending 9999-12-31 (its DTEND, the day after, overflowed)
    and an organization and a cycle named on two lines (X-WR-CALNAME was not escaped)
    broke the whole organization's feed with a 500. Written straight to the database,
    as if stored before they were refused at the door."""
    from hierarchy.models import Cycle, Organization

    Organization.objects.filter(pk=world.org.pk).update(name="Acme\r\nSUMMARY:INJ\x07")
    last = Cycle.objects.create(
        organization=world.org,
        name="Last",
        start=date(9999, 12, 1),
        end=date(9999, 12, 31),
        refine_start=date(9999, 12, 30),
        refine_end=date(9999, 12, 31),
        alignment_meeting=date(9999, 12, 31),
        midcycle_check=date(9999, 12, 31),
    )
    Cycle.objects.filter(pk=last.pk).update(name="La\tst\r\nDTSTART:1")
    calendar, events = fetch(api, world.member)
    assert str(calendar["X-WR-CALNAME"]) == "Acme  SUMMARY:INJ  · planning"
    cycle = events[f"cycle-{last.pk}@okrplan"]
    assert str(cycle["SUMMARY"]) == "Cycle · La st  DTSTART:1"
    assert cycle.decoded("DTSTART") == date(9999, 12, 1)
    assert cycle.decoded("DURATION") == timedelta(days=31)  # to the end of 9999-12-31
    assert "DTEND" not in cycle
    period = events[f"cycle-{last.pk}-period-0@okrplan"]
    assert period.decoded("DURATION") == timedelta(days=1)
    # the others are as before
    assert events[f"cycle-{planning.cycle.pk}@okrplan"].decoded("DTEND") == date(2026, 4, 1)
    assert len([e for e in events if e.startswith(f"cycle-{last.pk}")]) == 5
