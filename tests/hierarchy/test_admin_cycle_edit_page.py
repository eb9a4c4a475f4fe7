"""Editing, archiving, restoring and deleting cycles on the admin pages (issue 14 item 4):
/o/<org>/admin/cycles/<id>/ and its archive/, restore/ and delete/ actions."""

import re
from datetime import date

import pytest
from django.test import Client

from hierarchy import services as hs
from hierarchy.models import Cycle

LIST = "/o/acme/admin/cycles/"
Q1 = {"name": "Q1 2026", "start": "2026-01-01", "end": "2026-03-31", "granularity": "month"}


def edit_url(cycle) -> str:
    return f"{LIST}{cycle.pk}/"


def make(org, name="Q1 2026", start=date(2026, 1, 1), end=date(2026, 3, 31), **extra) -> Cycle:
    return hs.cycle_create(org=org, name=name, start=start, end=end, granularity="month", **extra)


def errors_of(page: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="cycle-{field}-errors">(.*?)</ul>', page, re.S)
    assert match, f"no errors next to {field}"
    return match.group(1)


def test_the_list_links_each_cycle_to_its_edit_page(world, client):
    cycle = make(world.org)
    client.force_login(world.admin)
    page = client.get(LIST).content.decode()
    assert f'href="{edit_url(cycle)}"' in page
    assert f'action="{edit_url(cycle)}archive/"' in page
    assert f'action="{edit_url(cycle)}delete/"' in page  # empty: it may go


def test_the_edit_page_shows_the_cycle_and_saves_it(world, client):
    cycle = make(world.org, refine_start=date(2026, 1, 2), refine_end=date(2026, 1, 9))
    client.force_login(world.admin)
    page = client.get(edit_url(cycle)).content.decode()
    assert 'value="Q1 2026"' in page and 'value="2026-01-02"' in page
    assert '<nav class="crumbs" aria-label="Breadcrumb">' in page
    response = client.post(
        edit_url(cycle),
        {
            **Q1,
            "name": "Q1 FY26",
            "granularity": "week",
            "refine_start": "",
            "refine_end": "",
            "alignment_meeting": "2026-01-12",
            "midcycle_check": "",
        },
    )
    assert (response.status_code, response["Location"]) == (302, LIST)
    cycle.refresh_from_db()
    assert (cycle.name, cycle.granularity) == ("Q1 FY26", "week")
    assert (cycle.refine_start, cycle.refine_end) == (None, None)
    assert cycle.alignment_meeting == date(2026, 1, 12)
    assert cycle.midcycle_check == date(2026, 2, 5)  # empty: the default
    assert "Cycle Q1 FY26 saved." in client.get(LIST).content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"refine_start": "2025-12-01", "refine_end": "2025-12-20"},
            "refine_start",
            "The refine window lies inside the cycle (2026-01-01 to 2026-03-31).",
        ),
        (
            {"refine_start": "2026-03-01", "refine_end": "2026-04-20"},
            "refine_end",
            "The refine window lies inside the cycle",
        ),
        ({"end": "2025-12-01"}, "end", "must end on or after its start"),
        ({"name": ""}, "name", "Required: this cannot be left empty."),
        ({"name": "Q2 2026"}, "name", "A cycle named &#x27;Q2 2026&#x27; exists already."),
        (
            {"start": "2026-04-01", "end": "2026-06-30"},
            "start",
            "Q2 2026 has the same dates (2026-04-01 to 2026-06-30)",
        ),
    ],
)
def test_it_refuses_bad_input_next_to_the_field_and_writes_nothing(
    world, client, change, field, message
):
    cycle = make(world.org)
    make(world.org, name="Q2 2026", start=date(2026, 4, 1), end=date(2026, 6, 30))
    client.force_login(world.admin)
    response = client.post(edit_url(cycle), {**Q1, **change})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in errors_of(page, field)
    assert f'id="cycle-{field}"' in page
    cycle.refresh_from_db()
    assert (cycle.name, cycle.start, cycle.end, cycle.refine_start) == (
        "Q1 2026",
        date(2026, 1, 1),
        date(2026, 3, 31),
        None,
    )


def test_an_overlap_is_saved_with_a_warning_on_the_page(world, client):
    make(world.org)
    client.force_login(world.admin)
    body = {**Q1, "name": "March sprint", "start": "2026-03-01", "end": "2026-04-15"}
    response = client.post(LIST, body)
    assert response.status_code == 302
    page = client.get(LIST).content.decode()
    assert '<li class="warning">March sprint overlaps Q1 2026 (2026-01-01 to 2026-03-31)' in page
    sprint = Cycle.objects.get(name="March sprint")
    block = re.search(rf'id="cycle-{sprint.pk}".*?</article>', page, re.S).group(0)
    assert "Overlaps" in block and "Q1 2026" in block


def test_the_periods_of_a_cycle_with_key_results_are_shown_fixed(planning, world, client):
    client.force_login(world.admin)
    page = client.get(edit_url(planning.cycle)).content.decode()
    assert "The start, the end and the periods are fixed" in page
    assert re.search(r'<input id="cycle-start"[^>]* readonly', page)
    assert re.search(r'<select id="cycle-granularity"[^>]* disabled', page)
    # the disabled select is not sent: the rest saves
    body = {k: v for k, v in Q1.items() if k != "granularity"} | {"name": "Q1 (renamed)"}
    assert client.post(edit_url(planning.cycle), body).status_code == 302
    planning.cycle.refresh_from_db()
    assert (planning.cycle.name, planning.cycle.granularity) == ("Q1 (renamed)", "month")
    response = client.post(edit_url(planning.cycle), {**Q1, "end": "2026-04-30"})
    assert response.status_code == 400
    assert "The periods are fixed" in errors_of(response.content.decode(), "end")


def test_an_archived_cycle_leaves_the_lists_until_asked_for_and_is_restored(
    planning, world, client
):
    client.force_login(world.admin)
    response = client.post(f"{edit_url(planning.cycle)}archive/")
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?archived=1"
    planning.cycle.refresh_from_db()
    assert planning.cycle.archived_at is not None
    page = client.get(LIST).content.decode()
    assert "is archived: it is out of the cycle lists" in page
    assert f'id="cycle-{planning.cycle.pk}"' not in page
    assert "Show archived (1)" in page
    page = client.get(f"{LIST}?archived=1").content.decode()
    assert f'action="{edit_url(planning.cycle)}restore/"' in page
    # the members' cycle list: hidden too, and readable on asking
    client.force_login(world.viewer)
    cycles = client.get("/o/acme/cycles/").content.decode()
    assert f'href="/o/acme/cycles/{planning.cycle.pk}/"' not in cycles
    assert 'href="/o/acme/cycles/?archived=1">Show archived (1)' in cycles
    cycles = client.get("/o/acme/cycles/?archived=1").content.decode()
    assert f'href="/o/acme/cycles/{planning.cycle.pk}/"' in cycles and "badge-archived" in cycles
    tree = client.get(f"/o/acme/cycles/{planning.cycle.pk}/")
    assert tree.status_code == 200 and "Generate $5M in new pipeline" in tree.content.decode()
    client.force_login(world.admin)
    assert client.post(f"{edit_url(planning.cycle)}restore/").status_code == 302
    planning.cycle.refresh_from_db()
    assert planning.cycle.archived_at is None


def test_a_cycle_with_objectives_is_not_deleted_and_the_page_says_why(planning, world, client):
    client.force_login(world.admin)
    page = client.get(LIST).content.decode()
    assert f'action="{edit_url(planning.cycle)}delete/"' not in page  # not offered
    response = client.post(f"{edit_url(planning.cycle)}delete/")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Q1 2026 has 1 objective and 4 key results: it cannot be deleted." in page
    assert Cycle.objects.filter(pk=planning.cycle.pk).exists()


def test_an_empty_cycle_is_deleted(world, client):
    cycle = make(world.org)
    client.force_login(world.admin)
    assert client.post(f"{edit_url(cycle)}delete/").status_code == 302
    assert not Cycle.objects.filter(pk=cycle.pk).exists()
    assert "Q1 2026 is deleted." in client.get(LIST).content.decode()


def test_restoring_a_duplicate_is_refused_with_the_reason(world, client):
    old = make(world.org)
    hs.cycle_archive(cycle=old)
    make(world.org, name="Q1 2026 (redone)")
    client.force_login(world.admin)
    response = client.post(f"{edit_url(old)}restore/")
    assert response["Location"] == f"{LIST}?archived=1"
    assert "has the same dates" in client.get(response["Location"]).content.decode()
    old.refresh_from_db()
    assert old.archived_at is not None


ACTIONS = ["", "archive/", "restore/", "delete/"]


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
@pytest.mark.parametrize("action", ACTIONS)
def test_it_forbids_everyone_but_admins(world, client, who, action):
    cycle = make(world.org)
    client.force_login(getattr(world, who))
    if not action:
        assert client.get(edit_url(cycle)).status_code == 403
    assert client.post(f"{edit_url(cycle)}{action}", {**Q1, "name": "X"}).status_code == 403
    cycle.refresh_from_db()
    assert (cycle.name, cycle.archived_at) == ("Q1 2026", None)


@pytest.mark.parametrize("action", ACTIONS)
def test_it_answers_404_to_an_outsider_and_for_a_foreign_cycle(world, client, action):
    cycle = make(world.org)
    foreign = make(world.other_org)
    client.force_login(world.outsider)
    assert client.post(f"{edit_url(cycle)}{action}", {**Q1, "name": "X"}).status_code == 404
    client.force_login(world.admin)
    assert client.post(f"{edit_url(foreign)}{action}", {**Q1, "name": "X"}).status_code == 404
    assert Cycle.objects.filter(name="X").count() == 0
    assert Cycle.objects.filter(archived_at__isnull=False).count() == 0


def test_the_actions_refuse_a_post_without_a_csrf_token(world):
    cycle = make(world.org)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    assert client.post(f"{edit_url(cycle)}archive/").status_code == 403
    cycle.refresh_from_db()
    assert cycle.archived_at is None


def test_the_list_costs_the_same_queries_with_archived_and_overlapping_cycles(
    world, client, django_assert_num_queries
):
    client.force_login(world.admin)
    for year in range(2010, 2020):
        cycle = make(world.org, name=f"Y{year}", start=date(year, 1, 1), end=date(year, 12, 31))
        make(world.org, name=f"H{year}", start=date(year, 6, 1), end=date(year, 9, 30))
        if year % 2:
            hs.cycle_archive(cycle=cycle)
    # session, user, scope, cycles, + the base template's unread count
    with django_assert_num_queries(5):
        page = client.get(f"{LIST}?archived=1").content.decode()
    assert page.count('<article class="cycle-admin') == 20
    # each year in use and its half overlap; an archived year overlaps nothing, and its
    # half then nothing in use
    assert page.count('class="overlap-note"') == 10


def test_days_on_their_default_are_empty_and_move_with_the_dates(world, client):
    cycle = make(world.org, midcycle_check=date(2026, 2, 20))
    client.force_login(world.admin)
    page = client.get(edit_url(cycle)).content.decode()
    assert re.search(r'<input id="cycle-alignment_meeting"[^>]*value=""', page)  # default
    assert 'value="2026-02-20"' in page  # its own day
    body = {**Q1, "start": "2026-02-01", "end": "2026-04-30", "midcycle_check": "2026-02-20"}
    assert client.post(edit_url(cycle), body).status_code == 302
    cycle.refresh_from_db()
    assert cycle.alignment_meeting == date(2026, 2, 11)  # day 11 of the moved cycle
    assert cycle.midcycle_check == date(2026, 2, 20)
