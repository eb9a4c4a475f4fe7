"""The burn-up on a KR's plan page and on a shared KR's combined view (issue 16 §1), as
the server renders them (the browser's view: tests/browser/test_trajectory.py)."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine

from plans import services as ps

D = Decimal
MARCH_END = date(2026, 3, 31)


def check_in(kr, period, value):
    kr.refresh_from_db()
    ps.checkin_create(kr=kr, period=period, value=D(value), author=kr.owner, today=MARCH_END)


def test_the_plan_page_draws_the_burnup_with_its_forecast(planning, world, client):
    check_in(planning.marketing_kr, 0, "800000")
    check_in(planning.marketing_kr, 1, "900000")
    client.force_login(world.viewer)

    with time_machine.travel(datetime(2026, 2, 15, 12, tzinfo=UTC)):
        page = client.get(f"/o/acme/krs/{planning.marketing_kr.pk}/plan/").content.decode()

    kr = planning.marketing_kr.pk
    assert f'<section class="card burnup-card" id="kr-{kr}-burnup"' in page
    assert (
        "At the current pace (850,000 USD a period) it ends at 2,550,000 USD in Mar 2026: "
        "450,000 USD short of the target of 3,000,000 USD."
    ) in page
    # named by its title, described by the figures (a name with the periods in it would
    # answer for the periods' inputs: get_by_label("Jan 2026"))
    assert (
        f'role="img" aria-labelledby="kr-{kr}-burnup-title" aria-describedby="kr-{kr}-burnup-desc"'
        in page
    )
    assert page.count('class="burnup-point"') == 2
    assert 'class="burnup-today"' in page
    # the table of the same figures, today's period marked
    table = re.search(r'<table class="burnup-table">.*?</table>', page, re.S).group(0)
    assert re.search(r'<tr class="today"><th scope="row">Feb 2026', table)
    assert re.search(r"Mar 2026.*?3,000,000</td>.*?—</td>.*?2,550,000</td>", table, re.S)


def test_a_shared_kr_s_plan_page_says_its_actuals_are_its_contributions(planning, world, client):
    check_in(planning.marketing_kr, 0, "950000")
    client.force_login(world.viewer)

    page = client.get(f"/o/acme/krs/{planning.pipeline.pk}/plan/").content.decode()

    assert "Its actuals are the sum of its contributions&#x27; check-ins" in page
    assert "check-ins recorded here are kept, and do not count." in page
    assert 'class="burnup-point"' in page
    # its own plan spreads the target evenly; the contributions plan 1.6M, 1.7M, 1.7M:
    # their running totals drawn beside it
    line = re.search(r'<polyline class="burnup-contributions"[^>]*>', page).group(0)
    assert 'data-values="0.00 1600000 3300000 5000000"' in line


def test_the_combined_view_has_its_aggregate_against_actuals(planning, world, client):
    check_in(planning.marketing_kr, 0, "950000")
    check_in(planning.sales_kr, 0, "400000")
    client.force_login(world.viewer)

    page = client.get(f"/o/acme/krs/{planning.pipeline.pk}/alignment/").content.decode()

    assert '<h2 id="against-actuals-h">Against actuals</h2>' in page
    # 1,350,000 in January: at that pace 4,050,000, 950,000 short of 5,000,000
    assert "it ends at 4,050,000 USD in Mar 2026: 950,000 USD short" in page
    assert page.count('class="contribution-progress"') == 3
    rows = re.search(r'<table class="contribution-actuals">.*?</table>', page, re.S)
    assert [m for m in re.findall(r"progress-(\w+)", rows.group(0))] == [
        "on_track",  # Marketing 950,000 of 1,000,000
        "at_risk",  # Sales 400,000 of 500,000
        "not_started",  # Partnerships
    ]


def test_the_funnel_s_combined_view_has_its_stages_and_ratios(funnel, world, client):
    check_in(funnel.visitors, 0, "3000")
    check_in(funnel.trials, 0, "450")
    client.force_login(world.viewer)

    page = client.get(f"/o/acme/krs/{funnel.parent.pk}/alignment/").content.decode()

    assert page.count('class="stage-actual"') == 3
    assert "Stage 1 → stage 2" in page
    assert 'class="ratio-actual"' in page and 'data-value="0.1500"' in page  # 450 / 3,000
    assert "Its actuals are the last stage&#x27;s check-ins" in page


def test_the_agenda_has_no_actuals_section(planning, world, client):
    check_in(planning.marketing_kr, 0, "950000")
    client.force_login(world.viewer)

    page = client.get(f"/o/acme/krs/{planning.pipeline.pk}/agenda/").content.decode()

    assert "against-actuals" not in page
