"""The trajectory in Chromium (issue 16 §1): a KR's burn-up on its plan page, a shared
KR's aggregate on its combined view, at 1280 px and at 390 px, checked by axe-core.

The demo organization (okrplan/demo.py) in the current quarter, with check-ins for the
months gone: what `make run` shows, so the screenshots are the README's
(docs/screenshots/burnup.png)."""

import pytest
from playwright.sync_api import expect

from okrplan.demo import DEMO_PASSWORD
from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_data import demo_with_check_ins, third_month

WIDTHS = (1280, 390)


@pytest.fixture
def demo(transactional_db):
    with third_month():  # two months of the quarter gone
        yield demo_with_check_ins()


def _login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()


def _look(page, screenshot, name, part):
    """axe and a screenshot at each width (the page reloaded at each), and one of `part`
    (a selector) alone, to read the chart at its size."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        assert_no_serious_violations(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width} px"
        shot = screenshot(f"{name}-{width}")
        page.locator(part).screenshot(path=str(shot.with_name(f"{shot.stem}-part.png")))


def test_a_leads_plan_page_shows_the_burnup_with_its_forecast_and_today(
    demo, page, live_server, screenshot
):
    assert len(demo["gone"]) == 2
    kr = demo["krs"]["Marketing-sourced pipeline"]
    labels = [p.label for p in demo["periods"]]
    _login(page, live_server, "maya")
    page.goto(f"{live_server.url}/o/acme/krs/{kr.pk}/plan/")

    chart = page.get_by_role("img", name="Running total planned against actual, in USD")
    expect(chart).to_be_visible()
    expect(page.locator(f"#kr-{kr.pk}-burnup-forecast")).to_have_text(
        "At the current pace (850,000 USD a period) it ends at 2,550,000 USD in "
        f"{labels[-1]}: 450,000 USD short of the target of 3,000,000 USD."
    )
    # the two actual points rise, February's above January's; today's marker is past them
    points = page.locator(".burnup-point")
    expect(points).to_have_count(2)
    first, second = points.nth(0).bounding_box(), points.nth(1).bounding_box()
    assert second["x"] > first["x"] and second["y"] < first["y"]
    today = page.locator(".burnup-today").bounding_box()
    assert today["x"] > second["x"]
    # the same figures as a table
    page.get_by_text("The chart's figures as a table").click()
    last = page.locator(".burnup-table tbody tr").last
    expect(last).to_contain_text(f"{labels[-1]} (today)")
    expect(last).to_contain_text("2,550,000")
    expect(page.locator(".burnup-table tbody tr").nth(1)).to_contain_text("1,700,000")
    _look(page, screenshot, "burnup", f"#kr-{kr.pk}-burnup")


def test_the_shared_pipelines_combined_view_shows_the_aggregate_against_actuals(
    demo, page, live_server, screenshot
):
    assert len(demo["gone"]) == 2
    pipeline = demo["krs"]["Generate $5M in new pipeline"]
    _login(page, live_server, "victor")
    page.goto(f"{live_server.url}/o/acme/krs/{pipeline.pk}/alignment/")

    section = page.locator("#against-actuals")
    expect(section.get_by_role("heading", name="Against actuals")).to_be_visible()
    # 1,700,000 + 1,020,000 + 350,000 = 3,070,000 in two months: 1,535,000 a month
    expect(page.locator(f"#kr-{pipeline.pk}-burnup-forecast")).to_contain_text(
        "1,535,000 USD a period"
    )
    expect(page.locator(f"#kr-{pipeline.pk}-burnup-made")).to_contain_text(
        "the sum of its contributions' check-ins"
    )
    bars = section.locator(".contribution-progress")
    expect(bars).to_have_count(3)
    # each bar as long as its contribution's progress: Marketing 56.67 %, Sales 68 %, …
    widths = [bars.nth(i).bounding_box()["width"] for i in range(3)]
    rows = section.locator(".contribution-actuals tbody tr")
    expect(rows).to_have_count(3)
    pct = [float(rows.nth(i).locator("td").nth(3).inner_text().rstrip("%")) for i in range(3)]
    ratio = [w / p for w, p in zip(widths, pct, strict=True)]
    assert max(ratio) - min(ratio) < 0.02 * max(ratio), (widths, pct)  # lengths ∝ progress
    _look(page, screenshot, "combined-actuals", "#against-actuals")


def test_the_funnels_combined_view_shows_each_stage_and_the_ratios(
    demo, page, live_server, screenshot
):
    assert len(demo["gone"]) == 2
    funnel = demo["krs"]["Convert 500 trial users to paid"]
    _login(page, live_server, "victor")
    page.goto(f"{live_server.url}/o/acme/krs/{funnel.pk}/alignment/")

    section = page.locator("#against-actuals")
    expect(page.locator(f"#kr-{funnel.pk}-burnup-made")).to_contain_text("the last stage's")
    expect(section.get_by_role("img", name="Each stage's actual to date")).to_be_visible()
    expect(section.get_by_role("img", name="The funnel's ratios")).to_be_visible()
    # trials over visitors so far: 1,000 / 5,600 = 0.1786; the historical ratio 0.18
    stage2 = section.locator(".contribution-actuals tbody tr").nth(1)
    expect(stage2).to_contain_text("0.1786")
    expect(stage2).to_contain_text("0.18")
    _look(page, screenshot, "funnel-actuals", "#against-actuals")


def test_the_nps_combined_view_measures_the_parent_with_its_contributions_beside(
    demo, page, live_server, screenshot
):
    assert len(demo["gone"]) == 2
    nps = demo["krs"]["Raise NPS from 32 to 45"]
    _login(page, live_server, "victor")
    page.goto(f"{live_server.url}/o/acme/krs/{nps.pk}/alignment/")

    section = page.locator("#against-actuals")
    # 37 after two months, 2.5 points a month from 32: 39.5 by the end, 5.5 short of 45
    expect(page.locator(f"#kr-{nps.pk}-burnup-forecast")).to_have_text(
        "At the current pace (a change of +2.5 points a period) it ends at 39.5 points in "
        f"{demo['periods'][-1].label}: 5.5 points short of the target of 45 points."
    )
    expect(section.locator(".contribution-progress")).to_have_count(3)
    _look(page, screenshot, "nps-actuals", "#against-actuals")
