"""The admin page of the cycles: /o/<org>/admin/cycles/ (list with the derived
periods and dates, create)."""

import re
from datetime import date

import pytest
from django.test import Client

from hierarchy import services as hs
from hierarchy.models import Cycle

URL = "/o/acme/admin/cycles/"
Q1 = {"name": "Q1 2026", "start": "2026-01-01", "end": "2026-03-31", "granularity": "month"}


def cycle_block(page: str, cycle) -> str:
    match = re.search(
        rf'<article class="cycle-admin" id="cycle-{cycle.pk}".*?</article>', page, re.S
    )
    assert match, f"no block for {cycle}"
    return match.group(0)


def test_it_creates_a_monthly_cycle_with_the_default_dates(world, client):
    client.force_login(world.admin)
    response = client.post(URL, {**Q1, "refine_start": "", "refine_end": ""})
    assert response.status_code == 302 and response["Location"] == URL
    cycle = Cycle.objects.get(organization=world.org, name="Q1 2026")
    assert cycle.alignment_meeting == date(2026, 1, 11)  # day 11
    assert cycle.midcycle_check == date(2026, 2, 5)  # first day of week 6
    assert (cycle.refine_start, cycle.refine_end) == (None, None)
    page = client.get(URL).content.decode()
    assert (
        "Cycle Q1 2026 created: 3 periods, alignment meeting on 11 Jan 2026, "
        "mid-cycle check on 5 Feb 2026." in page
    )
    block = cycle_block(page, cycle)
    for label in ("Jan 2026", "Feb 2026", "Mar 2026"):
        assert label in block
    assert 'datetime="2026-01-11"' in block and 'datetime="2026-02-05"' in block
    assert "3 × monthly" in block


def test_it_creates_a_weekly_cycle_with_refine_window_and_own_dates(world, client):
    client.force_login(world.admin)
    response = client.post(
        URL,
        {
            **Q1,
            "granularity": "week",
            "refine_start": "2026-01-01",
            "refine_end": "2026-01-09",
            "alignment_meeting": "2026-01-12",
            "midcycle_check": "2026-02-16",
        },
    )
    assert response.status_code == 302
    cycle = Cycle.objects.get(name="Q1 2026")
    assert (cycle.refine_start, cycle.refine_end) == (date(2026, 1, 1), date(2026, 1, 9))
    assert (cycle.alignment_meeting, cycle.midcycle_check) == (date(2026, 1, 12), date(2026, 2, 16))
    block = cycle_block(client.get(URL).content.decode(), cycle)
    assert "13 × weekly" in block and "W13" in block and "26 Mar\u201331 Mar" in block
    assert 'datetime="2026-01-09"' in block


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"end": "2025-12-31"}, "end", "must end on or after its start"),
        ({"end": "2027-06-30"}, "end", "at most 371 days"),
        ({"granularity": "day"}, "granularity", "“day” is not one of the choices: month, week."),
        ({"start": "2026-02-30"}, "start", "Give a date as YYYY-MM-DD, like 2026-03-31."),
        ({"start": ""}, "start", "Give a date as YYYY-MM-DD, like 2026-03-31."),
        ({"refine_start": "2025-12-01"}, "refine_end", "both ends of the refine window"),
        (
            {"refine_start": "2025-12-20", "refine_end": "2025-12-01"},
            "refine_end",
            "must end on or after its start",
        ),
        ({"alignment_meeting": "2026-05-01"}, "alignment_meeting", "Must fall inside the cycle"),
        ({"midcycle_check": "2025-01-01"}, "midcycle_check", "Must fall inside the cycle"),
        ({"name": ""}, "name", "Required: this cannot be left empty."),
    ],
)
def test_it_refuses_what_the_api_refuses_and_names_the_field(world, client, change, field, message):
    client.force_login(world.admin)
    response = client.post(URL, {**Q1, **change})
    assert response.status_code == 400
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="cycle-{field}-errors">(.*?)</ul>', page, re.S)
    assert errors and message in errors.group(1), page
    assert f'id="cycle-{field}"' in page
    assert 'value="Q1 2026"' in page or field == "name"  # what was typed stays
    assert not Cycle.objects.exists()


def test_a_name_is_unique_in_the_organization_only(world, client):
    hs.cycle_create(
        org=world.other_org, name="Q1 2026", start=date(2026, 1, 1), end=date(2026, 3, 31),
        granularity="month",
    )  # fmt: skip
    client.force_login(world.admin)
    assert client.post(URL, Q1).status_code == 302
    response = client.post(URL, Q1)
    assert response.status_code == 400
    assert "A cycle named &#x27;Q1 2026&#x27; exists already." in response.content.decode()
    assert Cycle.objects.filter(organization=world.org).count() == 1


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
def test_it_forbids_everyone_but_admins(world, client, who):
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, Q1).status_code == 403
    assert not Cycle.objects.exists()


def test_it_answers_404_to_an_outsider(world, client):
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    assert client.post(URL, Q1).status_code == 404
    assert not Cycle.objects.exists()


def test_it_refuses_posts_without_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    assert client.post(URL, Q1).status_code == 403
    assert not Cycle.objects.exists()


def test_it_costs_the_same_queries_for_few_and_many_cycles(
    world, client, django_assert_num_queries
):
    client.force_login(world.admin)
    # session, user, scope, cycles, + the base template's 2
    with django_assert_num_queries(5):
        assert client.get(URL).status_code == 200
    for year in range(2010, 2030):
        hs.cycle_create(
            org=world.org,
            name=f"Year {year}",
            start=date(year, 1, 1),
            end=date(year, 12, 31),
            granularity="week" if year % 2 else "month",
        )
    with django_assert_num_queries(5):
        page = client.get(URL).content.decode()
    assert page.count('<article class="cycle-admin"') == 20
