from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.planning import lock, set_plan


def test_it_shows_the_parent_owner_the_combined_view(
    planning, world, page, live_server, login, screenshot
):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    login(world.owner.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/krs/{planning.pipeline.pk}/alignment/")
    expect(page.get_by_role("heading", name="Generate $5M in new pipeline")).to_be_visible()
    expect(page.get_by_text("600,000 short (12.00%)")).to_be_visible()
    expect(page.get_by_role("img", name="Generate $5M in new pipeline")).to_be_visible()
    screenshot("combined-view")
