"""Choosing the daily digest on the profile page in Chromium (issue 16 §4): the choice
says what it sends, the saved page says when the next one comes, in the person's zone;
axe-core finds nothing serious at 1280 and 390 px."""

import re
from datetime import datetime

from playwright.sync_api import expect

from hierarchy.models import NotifyBy, Profile
from hierarchy.timezones import daily_hour_next
from tests.browser.axe import assert_no_serious_violations
from tests.conftest import PASSWORD


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_it_chooses_the_daily_digest_and_says_when_the_next_comes(
    world, page, live_server, login, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    login(world.marketing_lead.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.get_by_role("link", name="maya (your profile)").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    digest = page.get_by_label("A daily digest by e-mail")
    expect(digest).to_have_accessible_description(
        re.compile(r"^One e-mail a day at 08:00 in your time zone, with everything since")
    )
    expect(page.get_by_label("By e-mail at once")).to_be_checked()  # the default
    assert_no_serious_violations(page)

    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    digest.check()
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()
    expect(page.get_by_label("A daily digest by e-mail")).to_be_checked()
    profile = Profile.objects.get(user=world.marketing_lead)
    assert (profile.notify_by, profile.time_zone) == (NotifyBy.DIGEST, "Asia/Tokyo")

    nxt = daily_hour_next(now=datetime.now().astimezone(), time_zone="Asia/Tokyo", hour=8)
    when = page.locator(".digest-next time")
    expect(page.locator(".digest-next")).to_contain_text("Your next digest:")
    expect(when).to_have_attribute("datetime", nxt.isoformat())
    expect(when).to_have_text(f"{nxt.day} {nxt:%b %Y}, 08:00 JST")  # Tokyo's 08:00
    assert_no_serious_violations(page)
    screenshot("profile-digest-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_label("A daily digest by e-mail")).to_be_visible()
    _fits(page, 390)
    assert_no_serious_violations(page)
    screenshot("profile-digest-390")

    # back to e-mail at once: no next digest to announce
    page.get_by_label("By e-mail at once").check()
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()
    expect(page.locator(".digest-next")).to_have_count(0)
    assert Profile.objects.get(user=world.marketing_lead).notify_by == NotifyBy.EMAIL
