"""Every model is in the Django admin, and the admin cannot edit around the rules."""

import pytest
from django.apps import apps
from django.contrib.admin.sites import site

from hierarchy.models import Organization

OUR_APPS = ("hierarchy", "plans", "notifications")
EDITABLE = {Organization}  # name and settings, bounded by the model's validators


def our_models():
    return [m for app in OUR_APPS for m in apps.get_app_config(app).get_models()]


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_every_model_is_registered_and_read_only_unless_safe(model, rf, world):
    assert model in site._registry, f"{model.__name__} is not in the Django admin"
    model_admin = site._registry[model]
    world.admin.is_superuser = world.admin.is_staff = True
    request = rf.get("/admin/")
    request.user = world.admin
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_change_permission(request) == (model in EDITABLE)


def test_the_admin_pages_render(world, client):
    world.admin.is_superuser = world.admin.is_staff = True
    world.admin.save()
    client.force_login(world.admin)
    for model in our_models():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
