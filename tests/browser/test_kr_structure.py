"""Making a KR shared in Chromium, clicking only (issue 14 item 3): a sequential funnel of
three contributions in three departments, a stage moved up, a historical ratio, a
dependency; then the combined view shows the three."""

import re
from decimal import Decimal

from playwright.sync_api import expect

from hierarchy.models import Dependency, KeyResult
from tests.conftest import PASSWORD
from tests.planning import make_kr


def test_it_makes_a_new_kr_a_shared_funnel_by_clicking(
    world, planning, page, live_server, login, screenshot
):
    kr = make_kr(
        world,
        planning.objective,
        title="Convert 500 trials to paid",
        unit="paid",
        target=Decimal(500),
    )
    refused: list[str] = []  # what the Content-Security-Policy refused, if anything
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    page.set_viewport_size({"width": 1280, "height": 900})
    login(world.owner.username, PASSWORD)
    page.goto(f"{live_server.url}/o/acme/krs/{kr.pk}/structure/")  # the one URL typed
    expect(
        page.get_by_role("heading", name="Convert 500 trials to paid", exact=True)
    ).to_be_visible()
    page.evaluate("window.__noReload = true")

    page.get_by_label("Sequential (funnel)").check()
    page.get_by_role("button", name="Use this aggregation").click()
    expect(page.get_by_role("status")).to_contain_text("now combines its contributions")

    add = page.locator("#add-contribution")
    for title, department, unit, target in (
        ("Website visitors", "Marketing", "visitors", "10,000"),
        ("Deals closed", "Sales", "paid", "500"),
        ("Trials started", "Product", "trials", "2,000"),
    ):
        add.get_by_label("Title").fill(title)
        add.get_by_label("Department").select_option(label=department)
        add.get_by_label("Unit").fill(unit)
        add.get_by_label("Target").fill(target)
        add.get_by_role("button", name="Add the contribution").click()
        expect(page.get_by_role("status")).to_contain_text(f"Added “{title}” ({department}")
    contributions = page.locator("#contributions")
    expect(contributions.get_by_role("heading")).to_contain_text("3 in 3 departments")

    trials = contributions.locator("tr", has_text="Trials started")
    trials.get_by_role("button", name=re.compile(r"^Up")).click()
    expect(page.get_by_role("status")).to_contain_text("“Trials started” is stage 2 now.")
    rows = contributions.locator("tbody tr")
    expect(rows.nth(1)).to_contain_text("Trials started")
    expect(rows.nth(2)).to_contain_text("Deals closed")

    ratio = page.get_by_label("Historical ratio of “Trials started”")
    ratio.fill("0.18")
    ratio.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("“Trials started”: historical ratio 0.18.")

    dependencies = page.locator("#dependencies")
    dependencies.get_by_label("Other key result").select_option(
        label="Website visitors · Marketing"
    )
    dependencies.get_by_label("Assumption").fill(
        "Marketing delivers 10,000 visitors by mid-quarter"
    )
    dependencies.get_by_role("button", name="Register the dependency").click()
    expect(page.get_by_role("status")).to_contain_text("Registered: “Convert 500 trials to paid”")
    expect(dependencies).to_contain_text("Marketing delivers 10,000 visitors by mid-quarter")
    assert page.evaluate("window.__noReload") is True  # htmx swapped the region each time
    screenshot("structure-1280")

    funnel = KeyResult.objects.filter(parent=kr).order_by("stage")
    assert [(c.title, c.stage) for c in funnel] == [
        ("Website visitors", 1),
        ("Trials started", 2),
        ("Deals closed", 3),
    ]
    assert funnel[1].historical_ratio == Decimal("0.18")
    assert KeyResult.objects.get(pk=kr.pk).cross_functional
    assert Dependency.objects.filter(downstream=kr, upstream=funnel[0]).exists()

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    down = page.locator("#contributions tr", has_text="Website visitors").get_by_role(
        "button", name=re.compile(r"^Down")
    )
    expect(down).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing cut off
    screenshot("structure-390")

    page.get_by_role("link", name="Combined view").click()
    table = page.locator("table.contributions")
    for department in ("Marketing", "Product", "Sales"):
        expect(table).to_contain_text(department)
    expect(table.locator("tbody tr")).to_have_count(3)
    screenshot("combined-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot("combined-1280")
    assert refused == []
