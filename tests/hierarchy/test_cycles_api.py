from datetime import date

import pytest

from hierarchy.models import Cycle

URL = "/api/v1/orgs/acme/cycles/"
Q1 = {"name": "Q1 2026", "start": "2026-01-01", "end": "2026-03-31", "granularity": "month"}


def test_an_admin_creates_a_monthly_cycle_with_derived_periods_and_dates(world, api):
    response = api(world.admin).post(URL, Q1)
    assert response.status_code == 201
    body = response.json()
    assert [p["label"] for p in body["periods"]] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert body["periods"][1] == {
        "index": 1,
        "start": "2026-02-01",
        "end": "2026-02-28",
        "label": "Feb 2026",
    }
    assert body["alignment_meeting"] == "2026-01-11"  # day 11
    assert body["midcycle_check"] == "2026-02-05"  # first day of week 6


def test_a_weekly_cycle_has_seven_day_periods_and_a_shorter_last_one(world, api):
    body = api(world.admin).post(URL, {**Q1, "granularity": "week"}).json()
    assert len(body["periods"]) == 13
    assert body["periods"][0] == {
        "index": 0,
        "start": "2026-01-01",
        "end": "2026-01-07",
        "label": "W1",
    }
    assert body["periods"][-1] == {  # 90 days: 12 weeks and 6 days
        "index": 12,
        "start": "2026-03-26",
        "end": "2026-03-31",
        "label": "W13",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2025-12-31"}, "end"),
        ({"end": "2027-06-30"}, "end"),
        ({"granularity": "day"}, "granularity"),
        ({"start": "2026-02-30"}, "start"),
        ({"refine_start": "2025-12-01"}, "refine_end"),
        ({"refine_start": "2025-12-20", "refine_end": "2025-12-01"}, "refine_end"),
        ({"alignment_meeting": "2026-05-01"}, "alignment_meeting"),
        ({"midcycle_check": "2025-01-01"}, "midcycle_check"),
        ({"name": ""}, "name"),
    ],
)
def test_it_rejects_bad_input_and_writes_nothing(world, api, change, field):
    response = api(world.admin).post(URL, {**Q1, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Cycle.objects.exists()


def test_a_cycle_name_is_unique_in_the_organization_only(world, api):
    assert api(world.admin).post(URL, Q1).status_code == 201
    assert api(world.admin).post(URL, Q1).status_code == 400
    assert api(world.outsider).post("/api/v1/orgs/globex/cycles/", Q1).status_code == 201


@pytest.mark.parametrize("who", ["member", "viewer", "owner"])
def test_only_admins_create_cycles(world, api, who):
    assert api(getattr(world, who)).post(URL, Q1).status_code == 403
    assert not Cycle.objects.exists()


def test_an_admin_moves_the_refine_window(world, api):
    cycle_id = api(world.admin).post(URL, Q1).json()["id"]
    response = api(world.admin).patch(
        f"{URL}{cycle_id}/", {"refine_start": "2026-01-02", "refine_end": "2026-01-10"}
    )
    assert response.status_code == 200
    cycle = Cycle.objects.get(pk=cycle_id)
    assert (cycle.refine_start, cycle.refine_end) == (date(2026, 1, 2), date(2026, 1, 10))
    response = api(world.member).patch(f"{URL}{cycle_id}/", {"refine_end": None}, format="json")
    assert response.status_code == 403


def test_periods_are_fixed_once_the_cycle_has_key_results(planning, world, api):
    response = api(world.admin).patch(
        f"{URL}{planning.cycle.pk}/", {"granularity": "week"}, format="json"
    )
    assert response.status_code == 400
    assert "granularity" in response.json()
    planning.cycle.refresh_from_db()
    assert planning.cycle.granularity == "month"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "9999-12-25", "end": "9999-12-31"}, "start"),
        ({"start": "9000-12-20", "end": "9001-01-10"}, "end"),
        ({"start": "0001-01-01", "end": "0001-01-31"}, "start"),
        ({"refine_start": "2026-01-01", "refine_end": "9999-12-31"}, "refine_end"),
        ({"alignment_meeting": "9999-12-31"}, "alignment_meeting"),
    ],
)
def test_it_refuses_dates_outside_the_years_cycles_may_span(world, api, change, field):
    """Issue 13 item 7: a cycle starting 9999-12-25 answered 500 (OverflowError: its
    default alignment meeting is 10 days later), and one stored ending 9999-12-31 broke
    calendar.ics. Cycles fall between 1900-01-01 and 9000-12-31 (docs/decisions.md)."""
    response = api(world.admin).post(URL, {**Q1, **change}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()[field] == ["Must be between 1900-01-01 and 9000-12-31."]
    assert not Cycle.objects.exists()


def test_it_refuses_moving_a_date_outside_those_years(world, api):
    cycle_id = api(world.admin).post(URL, Q1, format="json").json()["id"]
    response = api(world.admin).patch(
        f"{URL}{cycle_id}/",
        {"refine_start": "2026-01-05", "refine_end": "9999-12-31"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"refine_end": ["Must be between 1900-01-01 and 9000-12-31."]}
    assert Cycle.objects.get().refine_end is None


# --- Issue 14 item 4: the same validation as the pages, archive, delete -------------


def test_it_refuses_a_refine_window_outside_the_cycle_naming_its_end(world, api):
    response = api(world.admin).post(
        URL, {**Q1, "refine_start": "2026-03-20", "refine_end": "2026-04-03"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "refine_end": ["The refine window lies inside the cycle (2026-01-01 to 2026-03-31)."]
    }
    assert not Cycle.objects.exists()


def test_it_refuses_a_cycle_with_another_ones_dates_naming_start(world, api):
    assert api(world.admin).post(URL, Q1).status_code == 201
    response = api(world.admin).post(URL, {**Q1, "name": "Q1 2026 again"})
    assert response.status_code == 400
    assert list(response.json()) == ["start"]
    assert "Q1 2026 has the same dates" in response.json()["start"][0]
    assert Cycle.objects.count() == 1


def test_an_overlapping_cycle_is_created_with_a_warning(world, api):
    first = api(world.admin).post(URL, Q1).json()
    assert first["warnings"] == [] and first["archived_at"] is None
    response = api(world.admin).post(
        URL, {**Q1, "name": "March sprint", "start": "2026-03-01", "end": "2026-04-15"}
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "March sprint overlaps Q1 2026 (2026-01-01 to 2026-03-31): both are open on the days "
        "they share; the current cycle on those days is the one that started last."
    ]
    assert "warnings" not in api(world.viewer).get(f"{URL}{first['id']}/").json()


def test_an_admin_archives_and_restores_a_cycle_and_the_list_filters_by_it(world, api):
    cycle_id = api(world.admin).post(URL, Q1).json()["id"]
    api(world.admin).post(URL, {**Q1, "name": "Q2", "start": "2026-04-01", "end": "2026-06-30"})
    response = api(world.admin).patch(f"{URL}{cycle_id}/", {"archived": True}, format="json")
    assert response.status_code == 200
    assert response.json()["archived_at"] is not None
    assert response.json()["warnings"] == []

    def names(query):
        return [c["name"] for c in api(world.viewer).get(URL + query).json()["results"]]

    assert names("") == ["Q2", "Q1 2026"]  # all, as before
    assert names("?archived=true") == ["Q1 2026"]
    assert names("?archived=false") == ["Q2"]
    assert api(world.viewer).get(URL + "?archived=maybe").status_code == 400
    # the same again: the same answer
    again = api(world.admin).patch(f"{URL}{cycle_id}/", {"archived": True}, format="json")
    assert again.status_code == 200 and again.json()["archived_at"] is not None
    response = api(world.admin).patch(f"{URL}{cycle_id}/", {"archived": False}, format="json")
    assert response.json()["archived_at"] is None
    assert api(world.member).patch(f"{URL}{cycle_id}/", {"archived": True}).status_code == 403
    assert Cycle.objects.get(pk=cycle_id).archived_at is None


def test_an_admin_deletes_an_empty_cycle_but_not_one_with_objectives(planning, world, api):
    empty = api(world.admin).post(
        URL, {**Q1, "name": "Q4", "start": "2025-10-01", "end": "2025-12-31"}
    )
    assert api(world.member).delete(f"{URL}{empty.json()['id']}/").status_code == 403
    assert api(world.admin).delete(f"{URL}{empty.json()['id']}/").status_code == 204
    response = api(world.admin).delete(f"{URL}{planning.cycle.pk}/")
    assert response.status_code == 400
    assert response.json() == {
        "detail": [
            "Q1 2026 has 1 objective and 4 key results: it cannot be deleted. Delete them "
            "first, or archive Q1 2026 (what it has stays readable)."
        ]
    }
    assert Cycle.objects.filter(pk=planning.cycle.pk).exists()


def test_an_objective_in_an_archived_cycle_is_refused(planning, world, api):
    api(world.admin).patch(f"{URL}{planning.cycle.pk}/", {"archived": True}, format="json")
    response = api(world.owner).post(
        "/api/v1/orgs/acme/objectives/", {"cycle": planning.cycle.pk, "title": "Retain"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "cycle": ["The cycle Q1 2026 is archived: restore it first, or choose another."]
    }
