import re

from playwright.sync_api import expect

from notifications.models import NotificationKind
from notifications.services import notification_create
from tests.conftest import PASSWORD


def test_it_marks_a_notification_read_in_place(world, page, live_server, login, screenshot):
    messages = [
        (
            NotificationKind.CHANGE,
            "“Generate $5M in new pipeline” changed: its target is now 5,000,000.",
        ),
        (
            NotificationKind.STEP,
            "Send the impact notice for “Marketing pipeline” by Jan 12, 17:00.",
        ),
        (NotificationKind.REMINDER, "Reminder: assess the impact on “Sales pipeline” by tomorrow."),
    ]
    for i, (kind, message) in enumerate(messages):
        notification_create(
            organization_id=world.org.pk,
            user_id=world.owner.pk,
            kind=kind,
            key=f"browser:{i}",
            message=message,
        )
    login(world.owner.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.goto(f"{live_server.url}/o/acme/")
    expect(page.get_by_label("3 unread notifications")).to_have_text("3")

    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name=re.compile("Inbox")
    ).click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    rows = page.locator("li.inbox-row")
    expect(rows).to_have_count(3)
    expect(page.locator("li.inbox-row.unread")).to_have_count(3)

    page.evaluate("window.__noReload = true")
    first = rows.first
    first.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_label("2 unread notifications")).to_have_text("2")
    expect(page.locator("li.inbox-row.unread")).to_have_count(2)
    expect(rows.first.get_by_role("button", name="Mark as read")).to_have_count(0)
    expect(rows.first).to_contain_text("Read")
    assert page.evaluate("window.__noReload") is True  # htmx swapped, no full reload
    screenshot("inbox")
