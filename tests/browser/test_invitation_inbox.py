"""Accepting an invitation from the inbox, in Chromium (issue 13, item 3)."""

from playwright.sync_api import expect

from hierarchy import services
from hierarchy.models import Membership
from tests.conftest import PASSWORD


def test_it_accepts_an_invitation_from_the_inbox_in_place(
    world, page, live_server, login, screenshot
):
    # globex's admin is invited to acme; they read their own (globex) inbox
    services.invitation_create(org=world.org, actor=world.admin, role="member", username="outsider")
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        login(world.outsider.username, PASSWORD)
        page.goto(f"{live_server.url}/o/globex/notifications/")
        invitations = page.get_by_role("region", name="Invitations")
        expect(invitations).to_contain_text("invited you to join Acme as member")
        expect(invitations.get_by_role("button", name="Accept")).to_be_visible()
        expect(invitations.get_by_role("button", name="Decline")).to_be_visible()
        screenshot(f"inbox-{width}")
        if width == 390:
            break
        page.context.clear_cookies()

    page.evaluate("window.__noReload = true")
    invitations.get_by_role("button", name="Accept").click()
    expect(invitations).to_contain_text("You are now a member of Acme.")
    assert page.evaluate("window.__noReload") is True  # htmx swapped the row, no reload
    assert Membership.objects.filter(organization=world.org, user=world.outsider).exists()
    screenshot("accepted-390")
    invitations.get_by_role("link", name="Acme").click()
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
