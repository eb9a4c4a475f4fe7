"""The Content-Security-Policy breaks nothing: the browser reports no violation on the
pages, with htmx at work, and on the API docs (Swagger UI)."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.planning import lock, set_plan


@pytest.fixture
def violations(page):
    """What the browser refused, from its console (Chromium names the policy)."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_the_pages_keep_to_the_policy(planning, world, page, live_server, login, violations):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    response = page.goto(f"{live_server.url}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    login(world.owner.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    for path in (
        f"/o/acme/krs/{planning.pipeline.pk}/alignment/",  # the chart, legend swatches
        f"/o/acme/cycles/{planning.cycle.pk}/",  # progress bars, the tree's indentation
        "/o/acme/notifications/",
        "/o/acme/calendar/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    # htmx is loaded and allowed to run (no eval, no inline style of its own)
    assert page.evaluate("typeof htmx") == "object"
    assert violations == []


def test_the_api_docs_keep_to_the_policy(db, page, live_server, violations):
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("okrplan API")).to_be_visible()
    expect(page.get_by_text("/api/v1/auth/token/").first).to_be_visible()
    assert violations == []
