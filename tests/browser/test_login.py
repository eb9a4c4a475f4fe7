from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_a_lead_logs_in_and_sees_the_organization(world, page, live_server, login, screenshot):
    login("maya", PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.get_by_role("link", name="Acme").click()
    expect(page.get_by_role("heading", name="Acme", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Marketing")).to_be_visible()
    screenshot("org-home")


def test_a_wrong_password_is_explained(world, page, live_server, login):
    login("maya", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
