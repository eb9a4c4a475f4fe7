"""The department lead's plan editor in Chromium: live totals, inline errors, and a
modification of a locked plan (SPEC.md §6, §8's additive example)."""

import pytest
from playwright.sync_api import expect

from notifications.models import Notification, Round
from plans.models import PlanRevision
from tests.conftest import PASSWORD
from tests.planning import lock


@pytest.fixture(autouse=True)
def _patient_expect():
    """htmx waits 300 ms after typing, then asks the server: on a loaded machine (the
    suite shares two cores) that can take longer than expect's 5 s default."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def open_editor(page, live_server, login, world, kr):
    login(world.marketing_lead.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/krs/{kr.pk}/plan/")
    expect(page.get_by_role("heading", name=kr.title, exact=True)).to_be_visible()


def test_it_updates_totals_as_one_types_and_shows_inline_errors(
    planning, world, page, live_server, login, screenshot
):
    open_editor(page, live_server, login, world, planning.marketing_kr)
    total, centroid = page.locator("#live-total"), page.locator("#live-centroid")
    expect(total).to_have_text("3,000,000 USD")
    expect(centroid).to_have_text("0.50")
    preview = page.locator("#plan-preview")
    expect(preview).to_contain_text("5,000,000 USD")  # the shared total, loaded by htmx

    page.evaluate("window.__noReload = true")
    page.get_by_label("Jan 2026").fill("2000000")
    expect(total).to_have_text("4,000,000 USD")
    expect(centroid).to_have_text("0.38")  # (0·2 + 1·1 + 2·1) / (2 · 4)
    expect(page.locator("#live-change")).to_have_text("+1,000,000 USD")
    expect(preview).to_contain_text("6,000,000 USD")
    assert page.evaluate("window.__noReload") is True  # htmx swapped, no page load
    screenshot("live-totals")

    page.get_by_label("Feb 2026").fill("-5")
    expect(page.locator("#live-problem")).to_contain_text("Feb 2026 (value 2)")
    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    expect(page.locator("#value-1-error")).to_contain_text(
        "Feb 2026 (value 2): a cumulative key result counts a flow"
    )
    expect(page.get_by_label("Jan 2026")).to_have_value("2000000")
    expect(page.get_by_label("Feb 2026")).to_have_value("-5")
    expect(page.get_by_label("Feb 2026")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.__noReload") is None  # that was a real submit
    screenshot("inline-error")
    assert not PlanRevision.objects.filter(kr=planning.marketing_kr, version=3).exists()


def test_it_saves_a_leads_modification_of_a_locked_plan(
    planning, world, page, live_server, login, screenshot
):
    lock(planning.pipeline)
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    open_editor(page, live_server, login, world, planning.marketing_kr)
    expect(page.get_by_role("heading", name="Modify the locked plan")).to_be_visible()
    expect(page.locator("#modification-note")).to_contain_text(
        "the rationale below. The rationale is shared with the other departments"
    )
    for label in ("Jan 2026", "Feb 2026", "Mar 2026"):
        page.get_by_label(label).fill("800000")
    preview = page.locator("#plan-preview")
    expect(preview).to_contain_text("600,000 USD (12.00%)")
    expect(preview).to_contain_text("the shared total moves")  # would_notify: the owner
    page.get_by_label("Rationale").fill("Channel algorithm change")
    screenshot("modification-form")
    page.get_by_role("button", name="Save the modification").click()
    expect(page.get_by_role("status").filter(has_text="Saved the modification")).to_contain_text(
        "version 3"
    )
    expect(page.locator("#live-total")).to_have_text("2,400,000 USD")
    screenshot("modification-saved")

    revision = PlanRevision.objects.get(kr=planning.marketing_kr, version=3)
    assert revision.is_modification and revision.rationale == "Channel algorithm change"
    assert revision.actor == world.marketing_lead
    assert Notification.objects.filter(user=world.owner, kr=planning.pipeline).exists()
    assert Round.objects.filter(modified_kr=planning.marketing_kr).exists()


def test_the_preview_of_a_preset_is_what_applying_it_saves(
    planning, world, page, live_server, login, screenshot
):
    """Issue 16 §5: the preview followed the period inputs while "Apply shape" saved the
    preset's plan for "Target to reach": the gap and the people told differed."""
    from tests.browser.axe import assert_no_serious_violations

    lock(planning.pipeline)
    open_editor(page, live_server, login, world, planning.marketing_kr)
    preview = page.locator("#plan-preview")
    expect(preview).to_contain_text("5,000,000 USD")
    page.get_by_label("Shape").select_option("front_loaded")
    page.get_by_label("Target to reach (USD)").fill("2,400,000")
    expect(page.locator("#preview-of")).to_have_text(
        "If you apply “Front-loaded” to reach 2,400,000 USD:"
    )
    expect(preview).to_contain_text("600,000 USD (12.00%)")
    expect(preview).to_contain_text("the shared total moves")  # the owner would be told
    screenshot("preset-preview")
    assert_no_serious_violations(page)

    page.get_by_label("Jan 2026").fill("1100000")  # back to the values typed
    expect(page.locator("#preview-of")).to_have_text("If you save these values:")
    expect(preview).to_contain_text("5,100,000 USD")
    page.get_by_label("Target to reach (USD)").fill("2,400,000 ")
    expect(page.locator("#preview-of")).to_contain_text("Front-loaded")
    expect(preview).to_contain_text("600,000 USD (12.00%)")

    page.get_by_label("Rationale").fill("Channel algorithm change")
    page.get_by_role("button", name="Apply shape").click()
    expect(page.get_by_role("status").filter(has_text="Saved the modification")).to_be_visible()
    expect(page.locator("#live-total")).to_have_text("2,400,000 USD")
    assert Notification.objects.filter(
        user=world.owner, kind="threshold", kr=planning.pipeline
    ).exists()
    page.goto(f"{live_server.url}/o/acme/krs/{planning.pipeline.pk}/alignment/")
    expect(page.get_by_text("600,000 short (12.00%)")).to_be_visible()
