"""A new person's account in Chromium (issue 14 item 1): sign up from the login page by
clicking, set a time zone on the profile, create a personal API token (shown once)."""

import re

from playwright.sync_api import expect

from hierarchy.models import PersonalToken, Profile


def _fits(page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling of the whole page."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_it_signs_up_sets_a_time_zone_and_creates_a_token(db, page, live_server, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()

    # a refusal first: next to its field
    page.get_by_label("Username").fill("nina")
    page.get_by_label("E-mail address").fill("nina@example.test")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#id_password-errors")).to_contain_text("This password is too short.")
    expect(page.get_by_label("Username")).to_have_value("nina")
    screenshot("signup-refused-1280")

    page.get_by_label("Password").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Welcome to okrplan, nina.")).to_be_visible()
    expect(page.get_by_role("heading", name="What next")).to_be_visible()
    screenshot("home-1280")

    # the profile, from the name in the top bar
    page.get_by_role("link", name="nina (your profile)").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("In the app only").check()
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()
    expect(page.get_by_text("show times in Europe/Berlin")).to_be_visible()
    expect(page.get_by_role("link", name="Nina Okafor (your profile)")).to_be_visible()
    profile = Profile.objects.get(user__username="nina")
    assert (profile.time_zone, profile.notify_by) == ("Europe/Berlin", "in_app")

    # a personal token: made in place (htmx), its key shown once
    page.evaluate("window.__noReload = true")
    tokens = page.locator("#tokens")
    tokens.get_by_label("Name").fill("CI pipeline")
    tokens.get_by_role("button", name="Create a token").click()
    expect(tokens.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    key = tokens.get_by_label("Key").input_value()
    assert re.fullmatch(r"okrp_[\w-]{43}", key)
    assert page.evaluate("window.__noReload") is True
    token = PersonalToken.objects.get(user__username="nina")
    assert token.key_hash == PersonalToken.digest(key)
    expect(tokens.get_by_role("row", name=re.compile("CI pipeline"))).to_contain_text("never")
    screenshot("profile-token-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(tokens.get_by_role("button", name="Revoke CI pipeline")).to_be_visible()
    _fits(page, 390)
    screenshot("profile-token-390")

    tokens.get_by_role("button", name="Revoke CI pipeline").click()
    expect(tokens.get_by_text("Token “CI pipeline” revoked: it no longer works.")).to_be_visible()
    expect(tokens.get_by_text("No personal tokens yet.")).to_be_visible()
    assert not PersonalToken.objects.exists()

    page.get_by_role("link", name="Your organizations").click()
    expect(page.get_by_role("heading", name="What next")).to_be_visible()
    _fits(page, 390)
    screenshot("home-390")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    _fits(page, 390)
    screenshot("login-390")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#id_username-errors")).to_contain_text("Choose a username.")
    _fits(page, 390)
    screenshot("signup-refused-390")
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    _fits(page, 390)
    screenshot("password-reset-390")
