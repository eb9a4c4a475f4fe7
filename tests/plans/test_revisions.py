"""Plan revisions are never edited or deleted, through any interface."""

import pytest
from django.contrib.admin.sites import site

from plans.models import PlanRevision
from tests.planning import set_plan


def test_a_revision_cannot_be_saved_again(planning):
    revision = PlanRevision.objects.first()
    revision.rationale = "rewritten"
    with pytest.raises(TypeError, match="never edited"):
        revision.save()


def test_a_revision_cannot_be_deleted(planning):
    with pytest.raises(TypeError, match="never deleted"):
        PlanRevision.objects.first().delete()
    with pytest.raises(TypeError, match="never deleted"):
        PlanRevision.objects.all().delete()
    with pytest.raises(TypeError, match="never changed"):
        PlanRevision.objects.all().update(rationale="x")
    assert PlanRevision.objects.count() == 4


def test_the_admin_shows_revisions_read_only(planning, rf, world):
    model_admin = site._registry[PlanRevision]
    request = rf.get("/admin/")
    request.user = world.admin
    world.admin.is_superuser = True
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, PlanRevision.objects.first())
    assert not model_admin.has_delete_permission(request, PlanRevision.objects.first())


def test_every_change_is_kept(planning):
    kr = planning.marketing_kr
    for values in ([1, 2, 3], [4, 5, 6], [7, 8, 9]):
        set_plan(kr, values)
    assert list(kr.revisions.values_list("version", flat=True)) == [2, 3, 4, 5]
