"""An admin sets the propagation rules in the browser: the default and one override."""

from decimal import Decimal

from playwright.sync_api import expect

from notifications import selectors
from tests.conftest import PASSWORD


def test_it_saves_a_threshold_rule_and_an_override(
    planning, world, page, live_server, login, screenshot
):
    login(world.admin.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/")
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Propagation rules"
    ).click()
    expect(page.get_by_role("heading", name="Propagation rules", level=1)).to_be_visible()

    page.get_by_label("Notify past a threshold").check()
    page.get_by_label("Threshold", exact=True).fill("15")
    page.get_by_label("Child owners must review").check()
    page.get_by_role("button", name="Save default rule").click()
    expect(page.get_by_role("status").filter(has_text="Default rule saved")).to_contain_text(
        "upward: notify past 15%; downward: child owners must review"
    )

    page.get_by_label("Key result", exact=True).select_option(label=planning.pipeline.title)
    page.get_by_label("Upward", exact=True).select_option("notify")
    page.get_by_label("Downward", exact=True).select_option("none")
    page.get_by_role("button", name="Save override").click()
    expect(page.get_by_role("status").filter(has_text="Override for")).to_be_visible()
    row = page.locator(f"#override-{planning.pipeline.pk}")
    expect(row).to_contain_text(planning.pipeline.title)

    page.reload()
    expect(page.get_by_label("Notify past a threshold")).to_be_checked()
    expect(page.get_by_label("Threshold", exact=True)).to_have_value("15")
    expect(page.get_by_label("Child owners must review")).to_be_checked()
    expect(page.get_by_label(f"Upward rule of {planning.pipeline.title}")).to_have_value("notify")
    expect(page.get_by_label(f"Downward rule of {planning.pipeline.title}")).to_have_value("none")
    screenshot("rules")
    page.set_viewport_size({"width": 820, "height": 1100})
    screenshot("rules-tablet")

    default = selectors.rule_default(org=world.org)
    assert (default.upward, default.threshold_pct, default.downward) == (
        "threshold",
        Decimal(15),
        "review_required",
    )
    override, inherited = selectors.rule_for_kr(org=world.org, kr=planning.pipeline)
    assert (override.upward, override.downward, inherited) == ("notify", "none", False)
