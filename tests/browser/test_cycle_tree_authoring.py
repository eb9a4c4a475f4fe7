"""Writing OKRs where they are read, in Chromium (issue 14 items 3 and 6): in an empty
cycle, add an objective and two key results, change a target, reorder, archive, filter and
restore, clicking only, at 1280 px and at 390 px."""

import re
from datetime import date
from decimal import Decimal

from playwright.sync_api import expect

from hierarchy import services as hs
from hierarchy.models import KeyResult
from tests.browser.conftest import ARTIFACTS
from tests.conftest import PASSWORD


def add_kr(page, objective: str, title: str, unit: str, target: str, department: str):
    page.get_by_role("link", name=f"Add a key result to “{objective}”").click()
    form = page.get_by_role("form", name=f"Add a key result to “{objective}”")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Department").select_option(label=department)
    form.get_by_label("Unit").fill(unit)
    form.get_by_label("Target").fill(target)
    form.get_by_role("button", name="Add the key result").click()
    expect(page.get_by_role("status").filter(has_text=f"Added “{title}”")).to_be_visible()


def test_it_writes_a_cycles_okrs_in_its_tree(world, page, live_server, screenshot):
    hs.cycle_create(
        org=world.org,
        name="Q1 2026",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    # the first page: the login, on its way to the cycles (the navigation is another part's)
    page.goto(f"{live_server.url}/accounts/login/?next=/o/acme/cycles/")
    page.get_by_label("Username").fill(world.owner.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Q1 2026", exact=True).click()
    expect(page.get_by_text("This cycle has no objectives yet.")).to_be_visible()
    page.evaluate("window.__noReload = true")

    page.get_by_role("link", name="Add an objective").click()
    form = page.get_by_role("form", name="Add an objective to Q1 2026")
    expect(form.get_by_label("Title")).to_be_focused()
    form.get_by_role("button", name="Add the objective").click()  # no title
    expect(form.get_by_text("Required: this cannot be left empty.")).to_be_visible()
    form.get_by_label("Title").fill("Grow new business")
    form.get_by_role("button", name="Add the objective").click()
    expect(page.get_by_role("heading", name="Grow new business")).to_be_visible()

    page.get_by_role("link", name="Edit the objective “Grow new business”").click()
    form = page.get_by_role("form", name="Edit the objective")
    form.get_by_label("Department").select_option(label="Sales")
    screenshot("objective-edit-1280")
    form.get_by_role("button", name="Save the objective").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the objective “Grow new business”")
    expect(page.locator("#tree .objective .eyebrow")).to_contain_text("Sales")

    add_kr(page, "Grow new business", "Generate new pipeline", "USD", "5,000,000", "Sales")
    add_kr(page, "Grow new business", "Expansion pipeline", "USD", "1,000,000", "Marketing")
    tree = page.locator("#tree")
    expect(tree.get_by_role("row", name="Generate new pipeline")).to_contain_text("5,000,000 USD")

    # change a target: a wrong number is refused next to the field, a right one moves the plan
    tree.get_by_role("link", name="Edit “Generate new pipeline”").click()
    form = page.get_by_role("form", name="Edit “Generate new pipeline”")
    form.get_by_label("Target").fill("five million")
    form.get_by_role("button", name="Save the key result").click()
    expect(form.get_by_text("“five million” is not a number")).to_be_visible()
    form.get_by_label("Target").fill("5,500,000")
    screenshot("edit-1280")
    form.get_by_role("button", name="Save the key result").click()
    expect(page.get_by_role("status")).to_contain_text("adds up to the new target, 5,500,000 USD")
    kr = KeyResult.objects.get(title="Generate new pipeline")
    assert kr.target == Decimal(5500000) and sum(kr.plan.values) == Decimal(5500000)

    # reorder: the second moves up, and keeps the focus
    tree.get_by_role("button", name="Move “Expansion pipeline” up").click()
    expect(tree.get_by_role("button", name="Move “Expansion pipeline” down")).to_be_focused()
    titles = tree.locator(".kr-tree a.title")
    expect(titles).to_have_text(["Expansion pipeline", "Generate new pipeline"])
    screenshot("tree-1280")

    # archive, then filter
    tree.get_by_role("button", name="Archive “Expansion pipeline”").click()
    expect(page.get_by_role("status")).to_contain_text("Archived “Expansion pipeline”")
    expect(titles).to_have_text(["Generate new pipeline"])
    page.get_by_label("Status").select_option(label="On track")
    expect(page.get_by_text("No key results match these filters.")).to_be_visible()
    assert "status=on_track" in page.url  # the filters are in the address, to share or reload
    page.get_by_label("Status").select_option(label="Any status")
    page.get_by_label("Department", exact=True).select_option(label="Sales")
    expect(titles).to_have_text(["Generate new pipeline"])
    page.get_by_label("Show archived").check()
    page.get_by_label("Department", exact=True).select_option(label="Marketing")  # offered again
    expect(titles).to_have_text(["Expansion pipeline"])
    expect(tree.get_by_role("row", name="Expansion pipeline")).to_contain_text("archived")
    screenshot("filtered-1280")
    assert page.evaluate("window.__noReload") is True  # htmx all along: no page loaded

    # on a phone: the same tree, every control in reach
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Clear filters").click()
    expect(titles).to_have_text(["Generate new pipeline"])
    page.get_by_label("Show archived").check()
    expect(titles).to_have_text(["Expansion pipeline", "Generate new pipeline"])
    screenshot("tree-390")
    restore = tree.get_by_role("button", name="Restore “Expansion pipeline”")
    restore.scroll_into_view_if_needed()
    restore.click()
    expect(page.get_by_role("status")).to_contain_text("Restored “Expansion pipeline”")
    page.get_by_label("Show archived").uncheck()
    expect(page).not_to_have_url(re.compile("archived"))  # swapped, and the address follows
    expect(titles).to_have_text(["Expansion pipeline", "Generate new pipeline"])
    tree.get_by_role("link", name="Edit “Expansion pipeline”").click()
    form = page.get_by_role("form", name="Edit “Expansion pipeline”")
    expect(form.get_by_label("Title")).to_be_focused()
    screenshot("edit-390")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at 390"
    form.get_by_role("link", name="Cancel").click()
    expect(tree.get_by_role("link", name="Edit “Expansion pipeline”")).to_be_visible()
    assert not KeyResult.objects.filter(archived_at__isnull=False).exists()


def test_a_shared_kr_and_its_contributions_read_at_390_px(
    planning, world, page, live_server, login, screenshot
):
    login(world.marketing_lead.username, PASSWORD)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/o/acme/cycles/{planning.cycle.pk}/?department=")
        tree = page.locator("#tree")
        marketing = tree.get_by_role("row", name="Marketing pipeline")
        expect(marketing.get_by_role("link", name="Edit “Marketing pipeline”")).to_be_visible()
        expect(
            marketing.get_by_role("button", name="Move “Marketing pipeline” down")
        ).to_be_visible()
        screenshot(f"shared-{width}")
        page.get_by_label("Owner").select_option(label="maya")
        expect(tree.locator("tr.context")).to_have_count(1)  # the shared parent, for context
        screenshot(f"shared-filtered-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_without_javascript_the_trees_buttons_post_and_come_back(
    planning, world, browser, live_server, request
):
    """The row actions are buttons of the tree's one form (`form`, `formaction`): with
    JavaScript off they post as plain forms, and the tree comes back with the message."""
    hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Delight customers", owner=world.owner
    )
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/?next=/o/acme/cycles/{planning.cycle.pk}/")
        page.get_by_label("Username").fill(world.owner.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        tree = page.locator("#tree")
        titles = tree.locator(".kr-tree a.title")
        expect(titles).to_have_text(
            [
                "Generate $5M in new pipeline",
                "Marketing pipeline",
                "Sales outbound pipeline",
                "Partner-sourced pipeline",
            ]
        )
        tree.get_by_role("button", name="Move “Sales outbound pipeline” up").click()
        expect(page.get_by_role("status")).to_contain_text("Moved “Sales outbound pipeline” up.")
        expect(titles).to_have_text(
            [
                "Generate $5M in new pipeline",
                "Sales outbound pipeline",
                "Marketing pipeline",
                "Partner-sourced pipeline",
            ]
        )
        tree.get_by_role("button", name="Move “Delight customers” up").click()
        expect(page.get_by_role("status")).to_contain_text("Moved “Delight customers” up.")
        expect(tree.locator(".objective h2")).to_have_text(
            ["Delight customers", "Grow new business"]
        )
        page.get_by_label("Show archived").check()
        page.get_by_role("button", name="Filter").click()  # no htmx: the button submits
        assert "archived=1" in page.url
        tree.get_by_role("button", name="Archive “Generate $5M in new pipeline”").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Archived “Generate $5M in new pipeline” and its 3 contributions."
        )
        assert "archived=1" in page.url  # back where it came from, the filters kept
        expect(tree.get_by_role("row", name="Generate $5M in new pipeline")).to_contain_text(
            "archived"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the `screenshot` fixture's, of this page
        page.screenshot(
            path=str(ARTIFACTS / f"{request.node.name}-archived-1280.png"), full_page=True
        )
        tree.get_by_role("button", name="Restore “Generate $5M in new pipeline”").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Restored “Generate $5M in new pipeline” and its 3 contributions."
        )
        assert not KeyResult.objects.filter(archived_at__isnull=False).exists()
        assert list(
            KeyResult.objects.filter(parent=planning.pipeline)
            .order_by("position")
            .values_list("title", flat=True)
        ) == ["Sales outbound pipeline", "Marketing pipeline", "Partner-sourced pipeline"]
    finally:
        context.close()
