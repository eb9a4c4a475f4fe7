"""The planning calendar page /o/<org>/calendar/: the same entries as the iCalendar
feed (`reports.planning_calendar`), per cycle."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar

from hierarchy import services as hs
from notifications.models import Round, Step
from notifications.services import round_notice
from tests.planning import lock, make_kr, set_plan

URL = "/o/acme/calendar/"
T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def noticed(world, planning) -> Round:
    """Marketing modified its locked plan at T0; the notice went out 2 hours later."""
    with time_machine.travel(T0, tick=False) as clock:
        lock(planning.pipeline)
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
        round = Round.objects.get(modified_kr=planning.marketing_kr)
        clock.move_to(T0 + timedelta(hours=2))
        round_notice(round=round, actor=world.owner, message="Marketing plans 600k less.")
    return round


def get(client, when=T0 + timedelta(hours=3), url=URL):
    with time_machine.travel(when, tick=False):
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.content.decode()


def section(page: str, cycle) -> str:
    match = re.search(
        rf'<section class="card cycle-calendar[^"]*" id="cycle-{cycle.pk}".*?</section>', page, re.S
    )
    assert match, f"no section for {cycle}"
    return match.group(0)


def test_it_shows_the_dates_of_each_cycle(world, planning, client):
    client.force_login(world.viewer)
    page = get(client)
    assert "<h1>Planning calendar</h1>" in page
    block = section(page, planning.cycle)
    assert "badge-current" in block
    assert re.search(r'datetime="2026-01-11">Sun 11 Jan</time>.*?Alignment meeting', block, re.S)
    assert re.search(r'datetime="2026-02-05">Thu 5 Feb</time>.*?Mid-cycle check', block, re.S)
    ends = (("2026-01-31", "Jan 2026"), ("2026-02-28", "Feb 2026"), ("2026-03-31", "Mar 2026"))
    for day, label in ends:
        assert re.search(rf'datetime="{day}">.*?Check-ins due.*?{label} ends', block, re.S)
    # on 12 Jan nothing of the cycle is past but the alignment meeting
    assert '<tr class="kind-period_end past">' not in block
    assert '<tr class="kind-alignment past">' in block


def test_it_shows_the_refine_window(world, client):
    cycle = hs.cycle_create(
        org=world.org, name="Q2 2026", start=date(2026, 4, 1), end=date(2026, 6, 30),
        granularity="month", refine_start=date(2026, 4, 1), refine_end=date(2026, 4, 10),
    )  # fmt: skip
    client.force_login(world.member)
    block = section(get(client), cycle)
    assert re.search(
        r'datetime="2026-04-01">Wed 1 Apr</time> \u2013 '
        r'<time datetime="2026-04-10">Fri 10 Apr</time>.*?Refine window',
        block,
        re.S,
    )


def test_it_lists_the_open_deadlines_with_mine_marked(world, planning, noticed, client):
    client.force_login(world.sales_lead)
    page = get(client)
    block = section(page, planning.cycle)
    steps = {
        s.kind + ":" + (s.department.name if s.kind == "assess" else ""): s
        for s in Step.objects.filter(round=noticed)
    }
    assert "Due: assess the impact on your plan “Sales outbound pipeline” (you)" in block
    assert "Due: assess the impact on “Partner-sourced pipeline” (pat)" in block
    assert "Due: close the round on “Generate $5M in new pipeline” (owner)" in block
    assert f'datetime="{steps["assess:Sales"].due_at.isoformat()}"' in block
    assert block.count('<li class="deadline') == 3  # the done notify step is not listed
    assert block.count('<li class="deadline mine"') == 1
    assert "send the impact notice" not in block
    assert "(3 open)" in page


def test_it_flags_an_overdue_deadline(world, planning, noticed, client):
    client.force_login(world.owner)
    page = get(client, when=T0 + timedelta(hours=60))  # the assessments were due at T0+50h
    block = section(page, planning.cycle)
    assert block.count('<li class="deadline overdue') == 2
    assert block.count("badge-critical") == 2


def test_it_shows_what_the_feed_has(world, planning, noticed, client):
    client.force_login(world.owner)
    page = get(client)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        feed = Calendar.from_ical(client.get("/api/v1/orgs/acme/calendar.ics").content)
    events = feed.walk("VEVENT")
    steps = [str(e["SUMMARY"]) for e in events if str(e["UID"]).startswith("step-")]
    assert steps and all(summary in page for summary in steps)
    days = [e.decoded("DTSTART") for e in events if "-period-" in str(e["UID"])]
    assert len(days) == 3
    assert all(f'datetime="{day:%Y-%m-%d}"' in page for day in days)


def test_it_links_the_feed_and_says_how_it_authenticates(world, planning, client):
    client.force_login(world.viewer)
    page = get(client)
    assert 'href="/api/v1/orgs/acme/calendar.ics" download="acme-planning.ics"' in page
    assert "Authorization: Token &lt;your key&gt;" in page
    assert "takes no token in the address" in page


def test_it_leaves_out_old_cycles_and_other_organizations(world, planning, client):
    old = hs.cycle_create(
        org=world.org, name="Q1 2024", start=date(2024, 1, 1), end=date(2024, 3, 31),
        granularity="month",
    )  # fmt: skip
    foreign = hs.cycle_create(
        org=world.other_org, name="Globex Q1", start=date(2026, 1, 1), end=date(2026, 3, 31),
        granularity="month",
    )  # fmt: skip
    client.force_login(world.owner)
    page = get(client)
    assert f'id="cycle-{old.pk}"' not in page and "Q1 2024" not in page
    assert f'id="cycle-{foreign.pk}"' not in page and "Globex Q1" not in page


def test_it_answers_404_to_an_outsider_and_serves_get_only(world, planning, client):
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    client.force_login(world.viewer)
    assert client.post(URL).status_code == 405


def test_it_costs_the_same_queries_for_few_and_many_entries(
    world, planning, noticed, client, django_assert_num_queries
):
    client.force_login(world.owner)
    # session, user, scope, cycles, open steps, + the base template's 2
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        with django_assert_num_queries(6):
            assert client.get(URL).status_code == 200
        for i in range(8):
            cycle = hs.cycle_create(
                org=world.org, name=f"Extra {i}", start=date(2026, 4 + i, 1),
                end=date(2026, 4 + i, 28), granularity="week",
            )  # fmt: skip
            objective = hs.objective_create(
                org=world.org, cycle=cycle, title=f"O {i}", owner=world.owner
            )
            kr = make_kr(world, objective, title=f"KR {i}")
            Step.objects.create(
                organization=world.org, kind="checkin", kr=kr, period=0, assignee=world.owner,
                department=world.sales, due_at=T0 + timedelta(days=i + 1), remind_at=T0,
            )  # fmt: skip
        with django_assert_num_queries(6):
            page = client.get(URL).content.decode()
    assert page.count('class="card cycle-calendar') == 9
    assert "Due: check in on “KR 7” for W1 (you)" in page


def test_it_shows_a_cycle_stored_ending_on_the_last_day_there_is(world, planning, client):
    """Issue 13 item 7: stored before cycles were bounded, with a name on two lines."""
    from hierarchy.models import Cycle, Organization

    Organization.objects.filter(pk=world.org.pk).update(name="Acme\r\nSUMMARY:INJ")
    last = Cycle.objects.create(
        organization=world.org,
        name="Last",
        start=date(9999, 12, 1),
        end=date(9999, 12, 31),
        alignment_meeting=date(9999, 12, 31),
        midcycle_check=date(9999, 12, 31),
    )
    Cycle.objects.filter(pk=last.pk).update(name="La\r\nst")
    client.force_login(world.member)
    page = get(client)
    assert "Dec 9999" in page
