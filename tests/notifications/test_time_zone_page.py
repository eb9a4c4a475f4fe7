"""Each person's time zone on the pages (issue 14 item 1): the step page, the inbox, My
work and the calendar show deadlines and times in the profile's zone; the API and its
calendar.ics feed stay in UTC."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar

from hierarchy import services as hs
from notifications import services as ns
from notifications.models import StepKind

DUE = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)  # 07:00 in New York (EST), 21:00 in Tokyo
NOW = DUE - timedelta(days=2)


@pytest.fixture
def step(world, planning):
    """maya's review of Marketing's pipeline, due at DUE; its notification made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return ns.review_open(
            kind=StepKind.DOWNWARD_REVIEW,
            kr=planning.marketing_kr,
            source_kr_id=planning.pipeline.pk,
            due_at=DUE,
            now=NOW,
            message=lambda step: "The pipeline target changed: review your plan.",
        )


def _zone(user, name: str) -> None:
    hs.profile_update(
        user=user,
        first_name="",
        last_name="",
        email=user.email,
        time_zone=name,
        notify_by="email",
    )


def _pages(client, step) -> dict[str, str]:
    with time_machine.travel(NOW, tick=False):
        urls = {
            "step": f"/o/acme/steps/{step.pk}/",
            "my work": "/o/acme/me/",
            "calendar": "/o/acme/calendar/",
            "inbox": "/o/acme/notifications/",
        }
        pages = {}
        for name, url in urls.items():
            response = client.get(url)
            assert response.status_code == 200, url
            pages[name] = response.content.decode()
    return pages


def test_without_a_zone_the_pages_show_utc(world, client, step):
    client.force_login(world.marketing_lead)
    pages = _pages(client, step)
    assert "10 Feb 2026, 12:00" in pages["step"]
    assert "10 Feb 2026, 12:00" in pages["my work"]
    assert "10 Feb 2026, 12:00 UTC" in pages["calendar"]
    assert 'title="8 Feb 2026, 12:00 UTC"' in pages["inbox"]


@pytest.mark.parametrize(
    ("zone", "shown", "calendar", "inbox"),
    [
        (
            "America/New_York",
            "10 Feb 2026, 07:00",
            "10 Feb 2026, 07:00 EST",
            "8 Feb 2026, 07:00 EST",
        ),
        ("Asia/Tokyo", "10 Feb 2026, 21:00", "10 Feb 2026, 21:00 JST", "8 Feb 2026, 21:00 JST"),
    ],
)
def test_the_pages_show_times_in_the_profiles_zone(
    world, client, step, zone, shown, calendar, inbox
):
    _zone(world.marketing_lead, zone)
    client.force_login(world.marketing_lead)  # the zone is read into the new session
    pages = _pages(client, step)
    assert shown in pages["step"]
    assert shown in pages["my work"]
    assert calendar in pages["calendar"]
    assert f'title="{inbox}"' in pages["inbox"]


def test_saving_the_profile_changes_the_zone_of_that_session_at_once(world, client, step):
    client.force_login(world.marketing_lead)
    assert "12:00" in _pages(client, step)["step"]
    client.post(
        "/accounts/profile/",
        {"email": "maya@example.test", "time_zone": "Asia/Tokyo", "notify_by": "email"},
    )
    assert "10 Feb 2026, 21:00" in _pages(client, step)["step"]


def test_a_session_from_before_zones_were_kept_reads_the_profile_once(world, client, step):
    _zone(world.marketing_lead, "Asia/Tokyo")
    client.force_login(world.marketing_lead)
    session = client.session
    del session["okrplan_time_zone"]  # as sessions made before this change
    session.save()
    assert "10 Feb 2026, 21:00" in _pages(client, step)["step"]
    with time_machine.travel(NOW, tick=False):  # the session, saved then, expires from then
        assert client.session["okrplan_time_zone"] == "Asia/Tokyo"


def test_the_calendar_feed_and_the_api_stay_in_utc(world, client, step):
    _zone(world.marketing_lead, "Asia/Tokyo")
    client.force_login(world.marketing_lead)  # the browser's session, on the API
    with time_machine.travel(NOW, tick=False):
        feed = client.get("/api/v1/orgs/acme/calendar.ics")
        steps = client.get("/api/v1/orgs/acme/steps/")
    assert feed.status_code == 200
    events = {str(e["UID"]): e for e in Calendar.from_ical(feed.content).walk("VEVENT")}
    event = events[f"step-{step.pk}@okrplan"]
    assert event["DTEND"].to_ical() == b"20260210T120000Z"
    assert "Due 10 Feb 2026, 12:00 UTC." in str(event["DESCRIPTION"])
    assert steps.status_code == 200
    mine = next(s for s in steps.json()["results"] if s["id"] == step.pk)
    assert mine["due_at"] in ("2026-02-10T12:00:00Z", "2026-02-10T12:00:00+00:00")
