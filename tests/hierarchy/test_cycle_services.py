"""The cycle services (issue 14 item 4): the refine window inside the cycle, the same
dates twice refused, overlaps allowed and reported, delete only when empty, archive and
restore; and the one rule of which cycle is current."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from hierarchy import selectors
from hierarchy import services as hs
from hierarchy.models import Cycle, Objective
from tests.planning import make_kr


def q(org, name="Q1 2026", start=date(2026, 1, 1), end=date(2026, 3, 31), **extra) -> Cycle:
    return hs.cycle_create(org=org, name=name, start=start, end=end, granularity="month", **extra)


def errors(excinfo) -> dict:
    return excinfo.value.message_dict


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ((date(2025, 12, 10), date(2025, 12, 20)), "refine_start"),  # all of it before
        ((date(2025, 12, 20), date(2026, 1, 10)), "refine_start"),  # starts before
        ((date(2026, 3, 20), date(2026, 4, 5)), "refine_end"),  # ends after
    ],
)
def test_it_refuses_a_refine_window_outside_the_cycle(world, window, field):
    with pytest.raises(ValidationError) as excinfo:
        q(world.org, refine_start=window[0], refine_end=window[1])
    assert errors(excinfo)[field] == [
        "The refine window lies inside the cycle (2026-01-01 to 2026-03-31)."
    ]
    assert not Cycle.objects.exists()


def test_it_takes_a_refine_window_inside_the_cycle_up_to_its_ends(world):
    cycle = q(world.org, refine_start=date(2026, 1, 1), refine_end=date(2026, 3, 31))
    assert (cycle.refine_start, cycle.refine_end) == (date(2026, 1, 1), date(2026, 3, 31))


def test_moving_the_cycle_away_from_its_refine_window_is_refused(world):
    cycle = q(world.org, refine_start=date(2026, 1, 2), refine_end=date(2026, 1, 9))
    with pytest.raises(ValidationError) as excinfo:
        hs.cycle_update(cycle=cycle, start=date(2026, 1, 5))
    assert "refine_start" in errors(excinfo)
    cycle.refresh_from_db()
    assert cycle.start == date(2026, 1, 1)


def test_it_refuses_a_second_cycle_with_the_same_dates_naming_start(world):
    q(world.org)
    with pytest.raises(ValidationError) as excinfo:
        q(world.org, name="Q1 2026 again")
    assert errors(excinfo) == {
        "start": [
            "Q1 2026 has the same dates (2026-01-01 to 2026-03-31): change the dates, or "
            "edit or archive Q1 2026 instead."
        ]
    }
    assert Cycle.objects.count() == 1


def test_an_edit_that_makes_a_duplicate_is_refused(world):
    q(world.org)
    other = q(world.org, name="Q1 draft", end=date(2026, 3, 30))
    with pytest.raises(ValidationError) as excinfo:
        hs.cycle_update(cycle=other, end=date(2026, 3, 31))
    assert "start" in errors(excinfo)
    other.refresh_from_db()
    assert other.end == date(2026, 3, 30)


def test_the_same_dates_are_allowed_in_another_organization_and_beside_an_archived_one(world):
    q(world.other_org)
    first = q(world.org)
    hs.cycle_archive(cycle=first)
    second = q(world.org, name="Q1 2026 (redone)")
    assert second.pk
    with pytest.raises(ValidationError) as excinfo:  # restoring would make a duplicate
        hs.cycle_restore(cycle=first)
    assert "same dates" in errors(excinfo)["start"][0]
    first.refresh_from_db()
    assert first.archived_at is not None


def test_overlapping_cycles_are_allowed_and_reported(world):
    quarter = q(world.org)
    march = q(world.org, name="March sprint", start=date(2026, 3, 1), end=date(2026, 4, 15))
    later = q(world.org, name="Q2 2026", start=date(2026, 4, 1), end=date(2026, 6, 30))
    q(world.other_org, name="Globex", start=date(2026, 1, 1), end=date(2026, 6, 30))
    assert selectors.cycle_overlapping(cycle=march) == [quarter, later]
    assert selectors.cycle_overlapping(cycle=quarter) == [march]
    hs.cycle_archive(cycle=later)
    assert selectors.cycle_overlapping(cycle=march) == [quarter]


def test_only_one_of_two_overlapping_cycles_is_current(world):
    """Both contain 10 March: the one that started last is current, and only it."""
    quarter = q(world.org)
    march = q(world.org, name="March sprint", start=date(2026, 3, 1), end=date(2026, 4, 15))
    today = date(2026, 3, 10)
    assert selectors.cycle_current(org=world.org, today=today) == march
    flags = {
        c.name: c.is_current
        for c in selectors.cycles_with_current(Cycle.objects.filter(organization=world.org), today)
    }
    assert flags == {"Q1 2026": False, "March sprint": True}
    # before the sprint starts, and after it ends, the quarter's the current one
    assert selectors.cycle_current(org=world.org, today=date(2026, 2, 10)) == quarter
    assert selectors.cycle_current(org=world.org, today=date(2026, 4, 10)) == march
    assert selectors.cycle_current(org=world.org, today=date(2026, 5, 1)) is None


def test_on_the_same_start_the_cycle_made_last_is_current(world):
    first = q(world.org, end=date(2026, 3, 31))
    second = q(world.org, name="Q1 short", end=date(2026, 2, 28))
    assert second.pk > first.pk
    assert selectors.cycle_current(org=world.org, today=date(2026, 1, 5)) == second
    assert selectors.cycle_current(org=world.other_org, today=date(2026, 1, 5)) is None


def test_an_archived_cycle_is_never_current(world):
    quarter = q(world.org)
    march = q(world.org, name="March sprint", start=date(2026, 3, 1), end=date(2026, 4, 15))
    hs.cycle_archive(cycle=march)
    assert selectors.cycle_current(org=world.org, today=date(2026, 3, 10)) == quarter
    hs.cycle_archive(cycle=quarter)
    assert selectors.cycle_current(org=world.org, today=date(2026, 3, 10)) is None


def test_an_empty_cycle_is_deleted(world):
    cycle = q(world.org)
    hs.cycle_delete(cycle=cycle)
    assert not Cycle.objects.exists()


def test_a_cycle_with_objectives_is_not_deleted_and_says_why(planning, world):
    with pytest.raises(ValidationError) as excinfo:
        hs.cycle_delete(cycle=planning.cycle)
    assert errors(excinfo) == {
        "detail": [
            "Q1 2026 has 1 objective and 4 key results: it cannot be deleted. Delete them "
            "first, or archive Q1 2026 (what it has stays readable)."
        ]
    }
    assert Cycle.objects.filter(pk=planning.cycle.pk).exists()


def test_archiving_keeps_the_data_and_takes_nothing_new(planning, world):
    cycle = hs.cycle_archive(cycle=planning.cycle)
    assert cycle.archived_at is not None
    assert Objective.objects.filter(cycle=cycle).count() == 1  # still there, readable
    assert list(selectors.cycles_active(org=world.org)) == []
    with pytest.raises(ValidationError) as excinfo:
        hs.objective_create(org=world.org, cycle=cycle, title="More", owner=world.owner)
    assert errors(excinfo) == {
        "cycle": ["The cycle Q1 2026 is archived: restore it first, or choose another."]
    }
    with pytest.raises(ValidationError) as excinfo:  # its objective, as a request loads it
        make_kr(world, Objective.objects.get(pk=planning.objective.pk), title="More pipeline")
    assert "objective" in errors(excinfo)
    with pytest.raises(ValidationError):
        hs.cycle_archive(cycle=cycle)  # archived already
    restored = hs.cycle_restore(cycle=cycle)
    assert restored.archived_at is None
    assert list(selectors.cycles_active(org=world.org)) == [restored]
    with pytest.raises(ValidationError):
        hs.cycle_restore(cycle=restored)  # not archived


def test_an_empty_alignment_meeting_or_midcycle_check_is_the_default_again(world):
    cycle = q(world.org, alignment_meeting=date(2026, 1, 20), midcycle_check=date(2026, 2, 20))
    cycle = hs.cycle_update(
        cycle=cycle, start=date(2026, 1, 5), alignment_meeting=None, midcycle_check=None
    )
    cycle.refresh_from_db()
    assert cycle.alignment_meeting == date(2026, 1, 15)  # day 11 of the cycle
    assert cycle.midcycle_check == date(2026, 2, 9)  # first day of week 6


def test_an_update_never_writes_back_a_stale_archived_at(world):
    cycle = q(world.org)
    stale = Cycle.objects.get(pk=cycle.pk)
    hs.cycle_archive(cycle=cycle)
    hs.cycle_update(cycle=stale, name="Q1 2026 (old)")
    cycle.refresh_from_db()
    assert cycle.name == "Q1 2026 (old)" and cycle.archived_at is not None
