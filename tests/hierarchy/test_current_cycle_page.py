"""Two overlapping cycles, and every page that says which cycle is current says the same
one (issue 14 item 4: "current" decided in one place, hierarchy.selectors)."""

import re
from datetime import date

import pytest
import time_machine

from hierarchy import services as hs

TODAY = date(2026, 3, 10)  # inside both


@pytest.fixture
def overlapping(planning, world):
    """Q1 2026 (the planning fixture's, January to March) and a sprint from 1 March."""
    sprint = hs.cycle_create(
        org=world.org,
        name="March sprint",
        start=date(2026, 3, 1),
        end=date(2026, 4, 15),
        granularity="week",
    )
    return planning.cycle, sprint


def get(client, url: str) -> str:
    with time_machine.travel(TODAY, tick=False):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_cycle_list_marks_only_the_one_that_started_last(overlapping, world, client):
    _quarter, sprint = overlapping
    client.force_login(world.viewer)
    page = get(client, "/o/acme/cycles/")
    assert page.count("badge-current") == 1
    current = re.search(r'<tr class="current">.*?</tr>', page, re.S).group(0)
    assert f'href="/o/acme/cycles/{sprint.pk}/"' in current


def test_the_cycle_tree_says_current_on_that_one_only(overlapping, world, client):
    quarter, sprint = overlapping
    client.force_login(world.viewer)
    assert "badge-current" in get(client, f"/o/acme/cycles/{sprint.pk}/")
    assert "badge-current" not in get(client, f"/o/acme/cycles/{quarter.pk}/")


def test_the_calendar_marks_only_that_one(overlapping, world, client):
    _quarter, sprint = overlapping
    client.force_login(world.viewer)
    page = get(client, "/o/acme/calendar/")
    assert page.count("badge-current") == 1
    block = re.search(rf'id="cycle-{sprint.pk}".*?</section>', page, re.S).group(0)
    assert "badge-current" in block


def test_the_quarterly_review_opens_on_that_one(overlapping, world, client):
    quarter, sprint = overlapping
    client.force_login(world.viewer)
    page = get(client, "/o/acme/reports/quarterly/")
    assert f'<option value="{sprint.pk}" selected>' in page
    hs.cycle_archive(cycle=sprint)
    page = get(client, "/o/acme/reports/quarterly/")
    assert f'<option value="{quarter.pk}" selected>' in page
    assert f'<option value="{sprint.pk}"' not in page  # archived: not offered
    # but still readable when asked for
    assert "March sprint" in get(client, f"/o/acme/reports/quarterly/?cycle={sprint.pk}")


def test_the_admin_list_marks_the_same_one(overlapping, world, client):
    _quarter, sprint = overlapping
    client.force_login(world.admin)
    page = get(client, "/o/acme/admin/cycles/")
    assert page.count("badge-current") == 1
    block = re.search(rf'id="cycle-{sprint.pk}".*?</article>', page, re.S).group(0)
    assert "badge-current" in block


def test_an_archived_cycle_is_left_out_of_the_calendar(overlapping, world, client):
    quarter, sprint = overlapping
    hs.cycle_archive(cycle=sprint)
    client.force_login(world.viewer)
    page = get(client, "/o/acme/calendar/")
    assert f'id="cycle-{sprint.pk}"' not in page
    block = re.search(rf'id="cycle-{quarter.pk}".*?</section>', page, re.S).group(0)
    assert "badge-current" in block
