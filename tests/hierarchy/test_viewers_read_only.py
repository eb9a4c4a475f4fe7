"""Viewers read only (issue 13 item 6): they lead no department and own no KR, so no step,
review or reminder is ever theirs; a member with those duties is not made a viewer.
Every path: the API, the admin pages, the organization import, the services."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from hierarchy import services as hs
from hierarchy.models import Department, Membership, Objective, Role
from okrplan import orgdata
from tests.planning import make_kr


def test_it_refuses_a_viewer_as_department_lead_in_the_api(world, api):
    client = api(world.admin)
    response = client.post(
        "/api/v1/orgs/acme/departments/", {"name": "Ops", "lead": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert "viewer" in response.data["lead"][0]
    assert not Department.objects.filter(name="Ops").exists()
    response = client.patch(
        f"/api/v1/orgs/acme/departments/{world.sales.pk}/", {"lead": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert "lead" in response.data
    assert Department.objects.get(pk=world.sales.pk).lead_id == world.sales_lead.pk


def test_it_refuses_to_make_a_lead_or_an_owner_a_viewer(world, planning, api):
    client = api(world.admin)
    maya = Membership.objects.get(organization=world.org, user=world.marketing_lead)
    response = client.patch(f"/api/v1/orgs/acme/members/{maya.pk}/", {"role": "viewer"})
    assert response.status_code == 400
    assert "maya leads Marketing" in response.data["role"][0]
    pat = Membership.objects.get(organization=world.org, user__username="pat")
    Department.objects.filter(lead=pat.user).update(lead=world.admin)
    response = client.patch(f"/api/v1/orgs/acme/members/{pat.pk}/", {"role": "viewer"})
    assert response.status_code == 400
    assert "pat owns “Partner-sourced pipeline”" in response.data["role"][0]
    assert Membership.objects.get(pk=pat.pk).role == Role.MEMBER
    member = Membership.objects.get(organization=world.org, user=world.member)
    response = client.patch(f"/api/v1/orgs/acme/members/{member.pk}/", {"role": "viewer"})
    assert response.status_code == 200  # no duties: may read only


def test_it_refuses_the_same_on_the_admin_pages(world):
    client = Client()
    client.force_login(world.admin)
    maya = Membership.objects.get(organization=world.org, user=world.marketing_lead)
    response = client.post(f"/o/acme/admin/members/{maya.pk}/role/", {"role": "viewer"})
    assert response.status_code == 400
    assert "cannot become a viewer" in response.content.decode()
    assert Membership.objects.get(pk=maya.pk).role == Role.MEMBER
    response = client.post("/o/acme/admin/departments/", {"name": "Ops", "lead": "viewer"})
    assert response.status_code == 400
    assert not Department.objects.filter(name="Ops").exists()


def test_it_refuses_a_viewer_in_the_services(world, planning):
    with pytest.raises(ValidationError) as refused:
        hs.department_create(org=world.org, name="Ops", lead=world.viewer)
    assert "lead" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        make_kr(world, planning.objective, title="Watched", owner=world.viewer)
    assert "owner" in refused.value.message_dict


def test_it_refuses_an_import_where_a_viewer_leads(world, planning):
    data = orgdata.org_export(org=world.org)
    for row in data["rows"][orgdata.label(Membership)]:
        if row.get("user") == "maya":  # people are named by username in the file
            row["role"] = "viewer"
    with pytest.raises(orgdata.OrgDataError, match="maya leads Marketing"):
        orgdata.org_import(data=data, slug="acme-copy")
    assert not type(world.org).objects.filter(slug="acme-copy").exists()


# --- Objectives: their owners get the objective's work too (the follow-up to item 6) ----


def test_it_refuses_a_viewer_as_an_objectives_owner_in_the_api(world, planning, api):
    client = api(world.admin)
    response = client.post(
        "/api/v1/orgs/acme/objectives/",
        {"cycle": planning.cycle.pk, "title": "Watched", "owner": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert "viewer" in response.data["owner"][0]
    assert not Objective.objects.filter(title="Watched").exists()
    objective = planning.objective
    response = client.patch(
        f"/api/v1/orgs/acme/objectives/{objective.pk}/", {"owner": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert "own an objective" in response.data["owner"][0]
    assert Objective.objects.get(pk=objective.pk).owner_id == world.owner.pk


def test_it_refuses_a_viewer_as_an_objectives_owner_in_the_services(world, planning):
    with pytest.raises(ValidationError) as refused:
        hs.objective_create(
            org=world.org, cycle=planning.cycle, title="Watched", owner=world.viewer
        )
    assert "owner" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        hs.objective_update(objective=planning.objective, owner=world.viewer)
    assert "owner" in refused.value.message_dict
    assert Objective.objects.get(pk=planning.objective.pk).owner_id == world.owner.pk


def test_it_refuses_to_make_an_objectives_owner_a_viewer(world, planning, api):
    hs.objective_create(org=world.org, cycle=planning.cycle, title="Retain", owner=world.member)
    member = Membership.objects.get(organization=world.org, user=world.member)
    response = api(world.admin).patch(f"/api/v1/orgs/acme/members/{member.pk}/", {"role": "viewer"})
    assert response.status_code == 400
    assert "member owns the objective “Retain”" in response.data["role"][0]
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER
    client = Client()
    client.force_login(world.admin)
    response = client.post(f"/o/acme/admin/members/{member.pk}/role/", {"role": "viewer"})
    assert response.status_code == 400
    assert "owns the objective “Retain”" in response.content.decode()
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER


def test_it_refuses_an_import_where_a_viewer_owns_an_objective(world, planning):
    hs.objective_create(org=world.org, cycle=planning.cycle, title="Retain", owner=world.member)
    data = orgdata.org_export(org=world.org)
    for row in data["rows"][orgdata.label(Membership)]:
        if row.get("user") == "member":
            row["role"] = "viewer"
    with pytest.raises(orgdata.OrgDataError, match="member owns the objective “Retain”"):
        orgdata.org_import(data=data, slug="acme-copy")
    assert not type(world.org).objects.filter(slug="acme-copy").exists()
