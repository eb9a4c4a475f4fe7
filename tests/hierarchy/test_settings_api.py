from decimal import Decimal

import pytest

URL = "/api/v1/orgs/acme/settings/"


def test_it_shows_the_defaults(world, api):
    assert api(world.viewer).get(URL).json() == {
        "gap_tolerance_pct": "1.0000",
        "funnel_tolerance_pct": "10.0000",
        "timing_tolerance": "0.2500",
        "overlap_factor": "0.7500",
        "notify_hours": "24.000000",
        "assess_hours": "48.000000",
        "close_hours": "72.000000",
        "checkin_grace_hours": "48.000000",
    }


def test_an_admin_changes_settings_with_fractional_hours(world, api):
    response = api(world.admin).patch(
        URL, {"overlap_factor": "0.6", "notify_hours": 0.001}, format="json"
    )
    assert response.status_code == 200
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.6")
    assert world.org.notify_hours == Decimal("0.001")


@pytest.mark.parametrize("who", ["member", "viewer", "owner"])
def test_only_admins_change_settings(world, api, who):
    response = api(getattr(world, who)).patch(URL, {"overlap_factor": "0.6"})
    assert response.status_code == 403
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.75")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"overlap_factor": "0.4"}, "overlap_factor"),
        ({"overlap_factor": "1.01"}, "overlap_factor"),
        ({"notify_hours": 0}, "notify_hours"),
        ({"assess_hours": -1}, "assess_hours"),
        ({"close_hours": "NaN"}, "close_hours"),
        ({"close_hours": "Infinity"}, "close_hours"),
        ({"gap_tolerance_pct": "1e400"}, "gap_tolerance_pct"),
        ({"timing_tolerance": 2}, "timing_tolerance"),
        ({"funnel_tolerance_pct": "ten"}, "funnel_tolerance_pct"),
        ({"overlap_factor": "0.6", "notify_hours": 0}, "notify_hours"),
    ],
)
def test_it_rejects_bad_values_and_writes_nothing(world, api, body, field):
    response = api(world.admin).patch(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.75")
    assert world.org.notify_hours == Decimal("24")
