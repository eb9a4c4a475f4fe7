"""Search from the top bar and open a result, in Chromium (issue 14, item 6)."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_it_searches_from_the_top_bar_and_opens_a_result(
    world, planning, page, live_server, login, screenshot
):
    world.marketing_lead.first_name, world.marketing_lead.last_name = "Maya", "Lopez"
    world.marketing_lead.save()
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        login(world.marketing_lead.username, PASSWORD)
        page.goto(f"{live_server.url}/o/acme/")
        box = page.get_by_role("search", name="Search Acme").get_by_role("searchbox")
        expect(box).to_be_visible()
        assert box.bounding_box()["x"] + box.bounding_box()["width"] <= width  # not cut off
        screenshot(f"topbar-{width}")
        box.fill("marketing")
        box.press("Enter")

        expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
        krs = page.get_by_role("region", name="Key results")
        expect(krs.get_by_role("link", name="Marketing pipeline")).to_be_visible()
        departments = page.get_by_role("region", name="Departments")
        expect(departments).to_contain_text("Lead: Maya Lopez")
        crumbs = page.get_by_role("navigation", name="Breadcrumb")
        expect(crumbs.get_by_role("link", name="Acme")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no overflow
        screenshot(f"results-{width}")
        if width == 390:
            break
        page.context.clear_cookies()

    krs.get_by_role("link", name="Marketing pipeline").click()
    expect(page.get_by_role("heading", name="Marketing pipeline", level=1)).to_be_visible()
    assert page.url.endswith(f"/o/acme/krs/{planning.marketing_kr.pk}/plan/")

    # a department result lands on its row of the organization's home
    page.get_by_role("search", name="Search Acme").get_by_role("searchbox").fill("market")
    page.get_by_role("search", name="Search Acme").get_by_role("button", name="Search").click()
    page.get_by_role("region", name="Departments").get_by_role("link", name="Marketing").click()
    expect(page.locator(f"#department-{world.marketing.pk}")).to_be_in_viewport()

    page.get_by_role("search", name="Search Acme").get_by_role("searchbox").fill("zeppelin")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Nothing in Acme matches “zeppelin”")).to_be_visible()
    screenshot("nothing-390")
    page.get_by_role("link", name="browse the cycles").click()
    expect(page.get_by_role("heading", name="Cycles", level=1)).to_be_visible()
