"""A lead finds a cascade review on My work and answers it (SPEC.md §6, §8 Sequential)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import Step
from tests.conftest import PASSWORD
from tests.planning import lock, set_plan


@pytest.fixture(autouse=True)
def _patient_expect():
    """Each answer is a full page load with the round's bookkeeping: slower than expect's
    5 s default on a loaded machine (the suite shares two cores)."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def test_it_takes_a_lead_from_an_overdue_review_on_my_work_to_its_answer(
    funnel, world, page, live_server, login, screenshot
):
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    step = Step.objects.get(kind="cascade_review", kr=funnel.paid)
    Step.objects.filter(pk=step.pk).update(due_at=timezone.now() - timedelta(hours=2))

    login(world.sales_lead.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/")
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="My work").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    row = page.locator(f"#step-{step.pk}")
    expect(row).to_have_class("overdue")
    expect(row).to_contain_text("overdue")
    expect(page.locator(f"#kr-{funnel.paid.pk}")).to_contain_text("Trials converted")
    screenshot("my-work")

    row.get_by_role("link", name="Answer").click()
    expect(page.locator("#proposed-target")).to_have_text("400 paid")
    page.get_by_role("radio", name="Decline").check()
    page.get_by_role("button", name="Send the answer").press("Enter")  # keyboard
    expect(page.locator("#note-error")).to_contain_text("Say why you keep your plan")
    expect(page.get_by_role("radio", name="Decline")).to_be_checked()
    page.get_by_role("textbox", name="Note").fill("Sales keeps 500: a new partner channel")
    page.get_by_role("button", name="Send the answer").press("Enter")
    expect(page.get_by_role("status").filter(has_text="Answered")).to_contain_text("Decline")
    screenshot("answered")
    step.refresh_from_db()
    assert (step.state, step.note) == ("declined", "Sales keeps 500: a new partner channel")
