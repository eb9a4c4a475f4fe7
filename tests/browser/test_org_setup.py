"""A new organization set up in Chromium (issue 14 item 2): from the home page, create
it, then follow the setup guide through its three steps (a department with its lead, the
first cycle, an invitation by e-mail), clicking only; the guide ends at 3 of 3."""

import re
from datetime import date

from playwright.sync_api import expect

from hierarchy import services as hs
from hierarchy.models import Cycle, Department, Invitation, Organization
from notifications.models import Notification
from tests.conftest import PASSWORD, make_user


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """(limit) => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > limit + 1 && !e.closest('.table-scroll'))
        .slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id)""",
        page.viewport_size["width"],
    )
    assert width <= page.viewport_size["width"], f"the page is {width}px wide: {wide}"


def test_it_creates_an_organization_and_follows_the_setup_guide(
    db, page, live_server, login, screenshot
):
    make_user("founder")
    page.set_viewport_size({"width": 1280, "height": 900})
    login("founder", PASSWORD)
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Your organizations")).to_be_visible()
    screenshot("home-empty-1280")
    main.get_by_role("link", name="Create an organization").click()

    # the slug follows the name as one types (static/js/org_create.js)
    expect(page.get_by_role("heading", name="New organization")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Initech Labs")
    expect(page.get_by_label("Address name (slug)")).to_have_value("initech-labs")
    screenshot("org-create-1280")
    page.get_by_role("button", name="Create the organization").click()

    expect(page).to_have_url(re.compile(r"/o/initech-labs/setup/$"))
    expect(page.get_by_text("0 of 3 done")).to_be_visible()
    screenshot("guide-start-1280")
    assert Organization.objects.get().slug == "initech-labs"

    # 1. a department with its lead (the founder, the only member so far)
    page.get_by_role("link", name="Add a department").click()
    expect(page.get_by_role("link", name="← Back to the setup guide")).to_be_visible()
    page.locator("#add-name").fill("Sales")
    page.get_by_label("Lead (username of a member)").fill("founder")
    page.get_by_role("button", name="Create department").click()
    expect(page.get_by_text("1 of 3 done")).to_be_visible()
    expect(page.get_by_text("Department Sales created, led by founder.")).to_be_visible()

    # 2. the first cycle
    page.get_by_role("link", name="Create the cycle").click()
    page.get_by_label("Name", exact=True).fill("Q2 2026")
    page.get_by_label("Start", exact=True).fill("2026-04-01")
    page.get_by_label("End", exact=True).fill("2026-06-30")
    page.get_by_label("Refine window starts").fill("2026-04-01")
    page.get_by_label("Refine window ends").fill("2026-04-08")
    page.get_by_role("button", name="Create cycle").click()
    expect(page.get_by_text("2 of 3 done")).to_be_visible()

    # 3. invite someone by e-mail (the issue 13 invitation form, from the guide)
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Username or e-mail address").fill("lead@example.test")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_text("3 of 3 done")).to_be_visible()
    expect(page.get_by_text("Initech Labs is ready to plan.")).to_be_visible()
    expect(page.locator(".setup-state-done")).to_have_count(3)
    screenshot("guide-done-1280")

    org = Organization.objects.get()
    assert Department.objects.get(organization=org).lead.username == "founder"
    cycle = Cycle.objects.get(organization=org)
    assert (str(cycle.start), str(cycle.end), str(cycle.refine_end)) == (
        "2026-04-01",
        "2026-06-30",
        "2026-04-08",
    )
    invitation = Invitation.objects.get(organization=org)
    assert (invitation.email, invitation.status) == ("lead@example.test", "pending")
    # the e-mail with the link is queued for the worker
    outgoing = Notification.objects.get(organization=org, email="lead@example.test")
    assert f"/join/{invitation.token}/" in outgoing.message

    # the organization's home no longer shows the setup's progress
    page.get_by_role("link", name=org.name).first.click()
    expect(page.get_by_role("heading", name="Initech Labs", exact=True)).to_be_visible()
    expect(page.get_by_text("Continue the setup guide")).to_have_count(0)

    # at 390 px: the guide, and the switcher open, nothing cut off
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(".org-switch > summary").click()
    switcher = page.locator(".org-switch-menu")
    expect(switcher.get_by_role("link", name="Initech Labs")).to_be_visible()
    expect(switcher.get_by_role("link", name="New organization")).to_be_visible()
    _no_horizontal_overflow(page)
    screenshot("switcher-390")
    page.locator(".org-switch > summary").click()  # closed again
    page.goto(f"{live_server.url}/o/initech-labs/setup/")
    expect(page.get_by_text("3 of 3 done")).to_be_visible()
    _no_horizontal_overflow(page)
    screenshot("guide-done-390")
    page.goto(f"{live_server.url}/orgs/new/")
    _no_horizontal_overflow(page)
    screenshot("org-create-390")


def test_the_admin_cycles_page_edits_and_archives_at_390_px(
    world, page, live_server, login, screenshot
):
    hs.cycle_create(
        org=world.org, name="Q1 2026", start=date(2026, 1, 1), end=date(2026, 3, 31),
        granularity="month",
    )  # fmt: skip
    sprint = hs.cycle_create(
        org=world.org, name="March sprint", start=date(2026, 3, 1), end=date(2026, 4, 15),
        granularity="week",
    )  # fmt: skip
    login(world.admin.username, PASSWORD)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/o/acme/admin/cycles/")
        block = page.locator(f"#cycle-{sprint.pk}")
        expect(block.get_by_text("Overlaps")).to_be_visible()
        expect(block.get_by_role("button", name="Archive March sprint")).to_be_visible()
        _no_horizontal_overflow(page)
        screenshot(f"admin-cycles-{width}")
    block.get_by_role("link", name="Edit March sprint").click()
    page.get_by_label("Refine window starts").fill("2026-02-20")
    page.get_by_label("Refine window ends").fill("2026-03-05")
    page.get_by_role("button", name="Save the cycle").click()
    expect(page.locator("#cycle-refine_start-errors")).to_contain_text(
        "The refine window lies inside the cycle"
    )
    _no_horizontal_overflow(page)
    screenshot("cycle-edit-error-390")
    page.get_by_label("Refine window starts").fill("2026-03-01")
    page.get_by_role("button", name="Save the cycle").click()
    expect(page.get_by_text("Cycle March sprint saved.")).to_be_visible()
    expect(page.get_by_text("March sprint overlaps Q1 2026")).to_be_visible()
    page.locator(f"#cycle-{sprint.pk}").get_by_role("button", name="Archive March sprint").click()
    expect(page.get_by_text("March sprint is archived")).to_be_visible()
    screenshot("admin-cycles-archived-390")
    sprint.refresh_from_db()
    assert sprint.archived_at is not None
    departments = page.get_by_role("navigation", name="Administration")
    departments.get_by_role("link", name="Departments").click()
    page.get_by_role("button", name="Archive Sales").click()
    expect(page.get_by_text("Sales is archived")).to_be_visible()
    _no_horizontal_overflow(page)
    screenshot("admin-departments-archived-390")
