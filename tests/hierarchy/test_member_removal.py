"""A member leaves only when nothing is still theirs (issue 13, the follow-up to items 5
and 6): a department they lead, a key result or an objective they own, a step they must
answer. Otherwise 400 naming what they hold, in the API and on the admin members page,
and they stay a member."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hierarchy import services as hs
from hierarchy.models import Membership
from notifications import services as ns
from notifications.models import StepKind
from tests.planning import make_kr


def _membership(world, user) -> Membership:
    return Membership.objects.get(organization=world.org, user=user)


def _remove_by_api(api, world, membership):
    return api(world.admin).delete(f"/api/v1/orgs/acme/members/{membership.pk}/")


def _remove_by_page(world, membership):
    client = Client()
    client.force_login(world.admin)
    response = client.post(f"/o/acme/admin/members/{membership.pk}/remove/")
    page = response.content.decode()
    match = re.search(rf'<tr id="member-{membership.pk}".*?</tr>', page, re.S)
    return response, match.group(0) if match else page


def _owns_a_kr(world, planning):
    make_kr(world, planning.objective, title="Referral pipeline", owner=world.member)
    return "member owns “Referral pipeline”"


def _owns_an_objective(world, planning):
    hs.objective_create(org=world.org, cycle=planning.cycle, title="Retain", owner=world.member)
    return "member owns the objective “Retain”"


def _has_an_open_step(world, planning):
    now = timezone.now()
    ns.step_create(
        organization_id=world.org.pk,
        kind=StepKind.DOWNWARD_REVIEW,
        kr=planning.marketing_kr,
        department_id=planning.marketing_kr.department_id,
        assignee_id=world.member.pk,
        due_at=now + timedelta(hours=48),
        now=now,
    )
    return "member has 1 open step"


HOLDINGS = {"kr": _owns_a_kr, "objective": _owns_an_objective, "step": _has_an_open_step}


@pytest.mark.parametrize("holding", list(HOLDINGS))
def test_it_does_not_remove_someone_who_still_holds_work_through_the_api(
    world, planning, api, holding
):
    said = HOLDINGS[holding](world, planning)
    membership = _membership(world, world.member)
    response = _remove_by_api(api, world, membership)
    assert response.status_code == 400
    assert said in response.data["username"][0]
    assert Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.parametrize("holding", list(HOLDINGS))
def test_it_does_not_remove_someone_who_still_holds_work_on_the_members_page(
    world, planning, holding
):
    said = HOLDINGS[holding](world, planning)
    membership = _membership(world, world.member)
    response, row = _remove_by_page(world, membership)
    assert response.status_code == 400
    assert said in row
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_it_names_all_they_hold_at_once(world, planning, api):
    """maya leads Marketing and owns its pipeline: both are named, and what to do."""
    membership = _membership(world, world.marketing_lead)
    response = _remove_by_api(api, world, membership)
    assert response.status_code == 400
    message = response.data["username"][0]
    assert "maya leads Marketing" in message
    assert "maya owns “Marketing pipeline”" in message
    assert "name a new lead" in message and "owner" in message


def test_it_removes_them_once_nothing_is_theirs(world, planning, api):
    objective = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Retain", owner=world.member
    )
    hs.objective_update(objective=objective, owner=world.owner)
    membership = _membership(world, world.member)
    assert _remove_by_api(api, world, membership).status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_it_does_not_make_someone_with_open_steps_a_viewer(world, planning, api):
    """A viewer may not answer a step (item 6): the steps would be nobody's to answer."""
    said = _has_an_open_step(world, planning)
    membership = _membership(world, world.member)
    response = api(world.admin).patch(
        f"/api/v1/orgs/acme/members/{membership.pk}/", {"role": "viewer"}
    )
    assert response.status_code == 400
    assert said in response.data["role"][0]
    membership.refresh_from_db()
    assert membership.role == "member"
