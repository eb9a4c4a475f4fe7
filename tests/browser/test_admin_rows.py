"""Admin rows change in place with htmx: a member's role, a department's name and lead."""

from playwright.sync_api import expect

from hierarchy.models import Membership
from tests.conftest import PASSWORD


def test_it_changes_a_role_and_a_department_in_place(world, page, live_server, login, screenshot):
    login(world.admin.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/admin/members/")
    page.evaluate("window.__noReload = true")
    page.get_by_label("Role of member").select_option("viewer")
    page.get_by_role("button", name="Change the role of member").click()
    row = page.locator(f"#member-{Membership.objects.get(user=world.member).pk}")
    expect(row).to_contain_text("Saved.")
    assert page.evaluate("window.__noReload") is True
    assert Membership.objects.get(user=world.member).role == "viewer"

    page.get_by_label("Role of admin").select_option("member")
    page.get_by_role("button", name="Change the role of admin").click()
    expect(page.get_by_text("An organization needs at least one admin.")).to_be_visible()
    assert Membership.objects.get(user=world.admin).role == "admin"

    page.goto(f"{live_server.url}/o/acme/admin/departments/")
    page.evaluate("window.__noReload = true")
    page.get_by_label("Name of Sales").fill("Sales EMEA")
    page.get_by_label("Lead of Sales (username)").fill("owner")
    page.get_by_role("button", name="Save Sales").click()
    expect(page.locator(f"#department-{world.sales.pk}")).to_contain_text("Saved.")
    assert page.evaluate("window.__noReload") is True
    world.sales.refresh_from_db()
    assert (world.sales.name, world.sales.lead) == ("Sales EMEA", world.owner)
    screenshot("departments")
