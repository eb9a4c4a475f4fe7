"""The organization's dashboard in Chromium (issue 16 §1): the demo's shared KRs by status
and gap, a modification round waiting for its overdue notice, and the check-ins the chase
found missing, each a link that opens its page; axe-core at 1280 px and 390 px
(docs/screenshots/dashboard.png)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from notifications.deadlines import checkin_chase
from notifications.models import Round, Step, StepKind
from okrplan.demo import DEMO_PASSWORD
from plans import services as ps
from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_data import demo_with_check_ins, third_month


@pytest.fixture
def board(transactional_db):
    with third_month():  # two months of the quarter gone
        yield _board()


def _board():
    data = demo_with_check_ins(skip=("Partner-sourced pipeline",))
    marketing = data["krs"]["Marketing-sourced pipeline"]
    marketing.refresh_from_db()
    ps.plan_update(
        kr=marketing,
        values=[Decimal(800000)] * len(data["periods"]),
        version=marketing.plan.version,
        actor=marketing.owner,
        rationale="Channel algorithm change",
    )
    round = Round.objects.get(modified_kr=marketing)
    notify = Step.objects.get(round=round, kind=StepKind.NOTIFY)
    Step.objects.filter(pk=notify.pk).update(due_at=timezone.now() - timedelta(hours=5))
    checkin_chase()  # Partnerships and Engineering have not checked in
    return {**data, "round": round, "notify": notify}


def test_the_dashboard_shows_status_gaps_rounds_steps_and_missed_check_ins(
    board, page, live_server, screenshot
):
    pipeline = board["krs"]["Generate $5M in new pipeline"]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/")
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Dashboard"
    ).click()

    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    # the pipeline: 2.4M + 1.5M + 0.5M planned against 5M: 600,000 short (12 %)
    row = page.locator(f"#shared-{pipeline.pk}")
    expect(row).to_contain_text("600,000 short (12%)")
    status = page.locator(".status-group").filter(has=row)
    expect(status.get_by_role("heading")).to_contain_text("At risk")  # 81.6 % of plan to date
    expect(page.locator("#rounds")).to_contain_text("Waiting for: Send the impact notice")
    expect(page.locator("#overdue")).to_contain_text("Send the impact notice")
    missed = page.locator("#missed")
    expect(missed).to_contain_text("“Partner-sourced pipeline” for")
    expect(missed).to_contain_text("“Cut p95 page load below one second” for")
    _look(page, screenshot)

    # each a link to where it is handled
    page.set_viewport_size({"width": 1280, "height": 900})
    row.get_by_role("link", name="Generate $5M in new pipeline").click()
    expect(page.get_by_role("heading", name="Against actuals")).to_be_visible()
    page.go_back()
    page.locator("#overdue").get_by_role("link").first.click()
    expect(page).to_have_url(f"{live_server.url}/o/acme/steps/{board['notify'].pk}/")
    page.go_back()
    missed.get_by_role("link", name="“Partner-sourced pipeline”").first.click()
    expect(page.get_by_role("heading", name="Check-ins")).to_be_visible()


def _look(page, screenshot):
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        assert_no_serious_violations(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the dashboard scrolls sideways by {overflow} px at {width} px"
        screenshot(f"dashboard-{width}")
