"""The department services (issue 14 item 4): delete only when empty, archive and
restore, and nothing new in an archived department."""

import pytest
from django.core.exceptions import ValidationError

from hierarchy import selectors
from hierarchy import services as hs
from hierarchy.models import Department
from tests.planning import make_kr


def errors(excinfo) -> dict:
    return excinfo.value.message_dict


def test_an_empty_department_is_deleted(world):
    ops = hs.department_create(org=world.org, name="Ops", lead=world.member)
    hs.department_delete(department=ops)
    assert not Department.objects.filter(name="Ops").exists()


def test_a_department_with_key_results_and_objectives_is_not_deleted_and_says_why(planning, world):
    hs.objective_create(
        org=world.org,
        cycle=planning.cycle,
        title="Marketing's own",
        owner=world.marketing_lead,
        department=world.marketing,
    )
    with pytest.raises(ValidationError) as excinfo:
        hs.department_delete(department=world.marketing)
    assert errors(excinfo) == {
        "detail": [
            "Marketing has 1 key result and 1 objective: it cannot be deleted. Move them to "
            "another department first, or archive Marketing (what it has stays readable)."
        ]
    }
    assert Department.objects.filter(pk=world.marketing.pk).exists()


def test_a_department_with_sub_departments_is_not_deleted(world):
    hs.department_create(org=world.org, name="Field", lead=world.member, parent=world.marketing)
    with pytest.raises(ValidationError) as excinfo:
        hs.department_delete(department=world.marketing)
    assert errors(excinfo) == {"detail": ["Move or delete its sub-departments first."]}


def test_archiving_hides_it_from_the_pickers_and_keeps_its_key_results(planning, world):
    department = hs.department_archive(department=world.marketing)
    assert department.archived_at is not None
    assert world.marketing not in selectors.departments_active(org=world.org)
    planning.marketing_kr.refresh_from_db()
    assert planning.marketing_kr.department_id == world.marketing.pk  # still Marketing's
    # nothing new goes in: a KR, an objective, a sub-department, a KR moved there
    with pytest.raises(ValidationError) as excinfo:
        make_kr(world, planning.objective, title="More", department=department)
    assert errors(excinfo) == {
        "department": ["The department Marketing is archived: restore it first, or choose another."]
    }
    with pytest.raises(ValidationError) as excinfo:
        hs.objective_create(
            org=world.org,
            cycle=planning.cycle,
            title="x",
            owner=world.owner,
            department=department,
        )
    assert "department" in errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        hs.department_create(org=world.org, name="Field", lead=world.member, parent=department)
    assert "parent" in errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        hs.kr_update(kr=planning.sales_kr, department=department)
    assert "department" in errors(excinfo)
    # what is there stays editable
    hs.kr_update(kr=planning.marketing_kr, title="Marketing-sourced pipeline")


def test_a_parent_is_archived_after_its_sub_departments_and_restored_before_them(world):
    field = hs.department_create(
        org=world.org, name="Field", lead=world.member, parent=world.marketing
    )
    with pytest.raises(ValidationError) as excinfo:
        hs.department_archive(department=world.marketing)
    assert errors(excinfo) == {
        "detail": [
            "Marketing has sub-departments that are not archived (Field): archive or move "
            "them first."
        ]
    }
    hs.department_archive(department=field)
    hs.department_archive(department=world.marketing)
    with pytest.raises(ValidationError) as excinfo:
        hs.department_restore(department=field)
    assert errors(excinfo) == {
        "detail": ["Field is part of Marketing, which is archived: restore Marketing first."]
    }
    hs.department_restore(department=world.marketing)
    assert hs.department_restore(department=field).archived_at is None


def test_archiving_twice_or_restoring_one_in_use_is_refused(world):
    with pytest.raises(ValidationError) as excinfo:
        hs.department_restore(department=world.sales)
    assert errors(excinfo) == {"detail": ["Sales is not archived."]}
    hs.department_archive(department=world.sales)
    with pytest.raises(ValidationError) as excinfo:
        hs.department_archive(department=world.sales)
    assert errors(excinfo) == {"detail": ["Sales is archived already."]}
