"""The admin page of the organization's settings: /o/<org>/admin/settings/
(tolerances, overlap factor, the 24/48/72 protocol hours, the check-in grace period)."""

import re
from decimal import Decimal

import pytest
from django.test import Client

URL = "/o/acme/admin/settings/"
FIELDS = {
    "gap_tolerance_pct": "1",
    "funnel_tolerance_pct": "10",
    "timing_tolerance": "0.25",
    "overlap_factor": "0.75",
    "notify_hours": "24",
    "assess_hours": "48",
    "close_hours": "72",
    "checkin_grace_hours": "48",
}


def test_it_shows_every_setting_with_a_label(world, client):
    client.force_login(world.admin)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Tolerances and protocol hours</h1>" in page
    for name, value in FIELDS.items():
        assert f'<label for="setting-{name}">' in page
        assert re.search(rf'id="setting-{name}" name="{name}" value="{re.escape(value)}"', page)


def test_it_saves_the_settings_with_fractional_hours(world, client):
    client.force_login(world.admin)
    body = {**FIELDS, "overlap_factor": "0.6", "notify_hours": "0.001", "close_hours": "96"}
    response = client.post(URL, body)
    assert response.status_code == 302 and response["Location"] == URL
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.6")
    assert world.org.notify_hours == Decimal("0.001")
    assert world.org.close_hours == Decimal(96)
    page = client.get(URL).content.decode()
    assert "Settings saved." in page
    assert 'name="notify_hours" value="0.001"' in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"overlap_factor": "0.4"}, "overlap_factor", "Must be at least 0.5."),
        ({"overlap_factor": "1.01"}, "overlap_factor", "Must be at most 1."),
        ({"notify_hours": "0"}, "notify_hours", "Must be more than 0."),
        ({"assess_hours": "-1"}, "assess_hours", "Must be more than 0."),
        ({"close_hours": "NaN"}, "close_hours", "“NaN” is not a number"),
        ({"close_hours": "Infinity"}, "close_hours", "“Infinity” is not a number"),
        ({"gap_tolerance_pct": "1e400"}, "gap_tolerance_pct", "“1e400” is not a number"),
        ({"timing_tolerance": "2"}, "timing_tolerance", "Must be at most 1."),
        ({"funnel_tolerance_pct": "ten"}, "funnel_tolerance_pct", "“ten” is not a number"),
        ({"checkin_grace_hours": ""}, "checkin_grace_hours", "Must be a number"),
        ({"overlap_factor": "0.6", "notify_hours": "0"}, "notify_hours", "Must be more than 0."),
    ],
)
def test_it_refuses_what_the_api_refuses_and_names_the_field(world, client, change, field, message):
    client.force_login(world.admin)
    response = client.post(URL, {**FIELDS, **change})
    assert response.status_code == 400
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="setting-{field}-errors">(.*?)</ul>', page, re.S)
    assert errors and message in errors.group(1), page
    assert (
        f'aria-describedby="setting-{field}-help setting-{field}-errors" aria-invalid="true"'
        in (page)
    )
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.75")
    assert world.org.notify_hours == Decimal(24)
    assert world.org.checkin_grace_hours == Decimal(48)


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
def test_it_forbids_everyone_but_admins(world, client, who):
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {**FIELDS, "overlap_factor": "0.6"}).status_code == 403
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.75")


def test_it_answers_404_to_an_outsider(world, client):
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {**FIELDS, "overlap_factor": "0.6"}).status_code == 404
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.75")


def test_it_refuses_posts_without_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    assert client.post(URL, {**FIELDS, "overlap_factor": "0.6"}).status_code == 403
    world.org.refresh_from_db()
    assert world.org.overlap_factor == Decimal("0.75")


def test_it_costs_a_fixed_number_of_queries(world, client, django_assert_num_queries):
    client.force_login(world.admin)
    # session, user, scope, + the base template's 2: the settings are the scope's row
    with django_assert_num_queries(4):
        assert client.get(URL).status_code == 200


def test_it_reads_numbers_as_people_type_them(world, client):
    """The page's numbers go through the pages' one parser: "1,000" is a thousand, as on
    every other page (the API's JSON takes plain notation)."""
    client.force_login(world.admin)
    response = client.post(URL, {**FIELDS, "close_hours": "1,000", "notify_hours": "1,5"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "“1,5” is not a number" in page
    world.org.refresh_from_db()
    assert world.org.close_hours == Decimal(72)
    assert client.post(URL, {**FIELDS, "close_hours": "1,000"}).status_code == 302
    world.org.refresh_from_db()
    assert world.org.close_hours == Decimal(1000)
