"""No framework wording reaches a person (issue 16 §5; okrplan/lib/messages.py).

Pages and the API showed DRF's and Django's defaults: "Date has wrong format. Use one of
these formats instead: YYYY-MM-DD.", "This field may not be null.", "Ensure this value is
greater than or equal to 0.000001.". One table of people's words replaces them: for every
input serializer's fields (`okrplan.lib.strict.InputSerializer`), for the services'
Django errors (the API's handler and the pages' helpers), and for every page's Django
Form (`okrplan.lib.forms.PeopleErrors`). Walked here, so that a new serializer, field or
form cannot bring the defaults back."""

import importlib
import inspect
import pkgutil
import re

import pytest
from django import forms
from django.core import validators as django_validators
from django.db import models
from rest_framework import fields, relations, serializers

from hierarchy.models import Cycle
from okrplan.lib.forms import PeopleErrors
from tests.planning import lock
from tests.test_strict_serializers import api_input_serializers, module_input_serializers

APPS = ["hierarchy", "plans", "notifications", "okrplan"]


def _framework_messages() -> set[str]:
    """Every default message of DRF's and Django's fields and validators, as text."""
    found: set[str] = set()

    def walk(base):
        yield base
        for cls in base.__subclasses__():
            yield from walk(cls)

    for base in (fields.Field, forms.Field, models.Field):
        for cls in walk(base):
            if not cls.__module__.startswith(("rest_framework.", "django.")):
                continue  # ours
            found |= {str(m) for m in vars(cls).get("default_error_messages", {}).values()}
    for name in dir(django_validators):
        value = getattr(django_validators, name)
        if isinstance(value, type) and hasattr(value, "message"):
            found.add(str(value.message))
    found |= {str(m) for m in django_validators.DecimalValidator.messages.values()}
    found.add(str(relations.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]))
    from rest_framework.validators import ProhibitSurrogateCharactersValidator

    found.add(str(ProhibitSurrogateCharactersValidator.message))
    return found


FRAMEWORK = _framework_messages()


def _field_messages(field, name: str):
    if getattr(field, "read_only", False):
        return
    if isinstance(field, serializers.ListSerializer):
        yield from ((f"{name} ({key})", m) for key, m in field.error_messages.items())
        field = field.child
    if isinstance(field, serializers.BaseSerializer):
        for sub, f in field.fields.items():
            yield from _field_messages(f, f"{name}.{sub}")
        return
    for key, message in field.error_messages.items():
        yield f"{name} ({key})", message
    for validator in field.validators:
        if hasattr(validator, "message"):
            yield f"{name} ({type(validator).__name__})", validator.message
    for child in (getattr(field, "child", None), getattr(field, "child_relation", None)):
        if isinstance(child, fields.Field):
            yield from _field_messages(child, f"{name}[]")


def test_no_input_serializer_has_a_framework_message():
    found = {**module_input_serializers(), **api_input_serializers()}
    assert len(found) > 20
    left = [
        f"{cls.__module__}.{cls.__qualname__}.{where}: {message}"
        for cls in found
        for name, f in cls().fields.items()
        for where, message in _field_messages(f, name)
        if str(message) in FRAMEWORK
    ]
    assert not left, "\n".join(left[:40])


def _page_forms() -> list[type]:
    found = []
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name or info.name.endswith((".settings", ".wsgi", ".admin")):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (
                    inspect.isclass(value)
                    and value.__module__ == module.__name__
                    and issubclass(value, forms.BaseForm)
                ):
                    found.append(value)
    return found


def test_every_page_form_says_its_errors_in_peoples_words():
    found = _page_forms()
    assert len(found) > 20
    left = [f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, PeopleErrors)]
    assert not left, left


# --- What a person sees ---------------------------------------------------------------


def test_a_bad_date_says_how_to_write_one(world, api, client):
    body = {"name": "Q2", "start": "31/03/2026", "end": "2026-06-30", "granularity": "month"}
    response = api(world.admin).post("/api/v1/orgs/acme/cycles/", body, format="json")
    assert response.status_code == 400
    assert response.json()["start"] == ["Give a date as YYYY-MM-DD, like 2026-03-31."]
    client.force_login(world.admin)
    page = client.post("/o/acme/admin/cycles/", body)
    assert page.status_code == 400
    html = page.content.decode()
    assert "Enter a date like 2026-01-31." in html  # the page's DayField
    assert "wrong format" not in html
    assert not Cycle.objects.filter(name="Q2").exists()


def test_a_missing_value_is_asked_for_not_called_null(world, planning, api, client):
    body = {
        "objective": planning.objective.pk,
        "title": "X",
        "owner": world.owner.username,
        "department": None,
        "unit": "USD",
        "metric_kind": "cumulative",
        "target": 1,
    }
    response = api(world.owner).post("/api/v1/orgs/acme/krs/", body, format="json")
    assert response.status_code == 400
    assert response.json()["department"] == ["Required: give a value."]
    client.force_login(world.admin)
    page = client.post("/o/acme/admin/rules/krs/", {"kr": "", "upward": "none", "downward": "none"})
    html = page.content.decode()
    assert "may not be null" not in html and "Choose a key result." in html


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"notify_hours": "0"}, "notify_hours", "Must be more than 0."),
        ({"overlap_factor": "1.01"}, "overlap_factor", "Must be at most 1."),
        ({"overlap_factor": "0.4"}, "overlap_factor", "Must be at least 0.5."),
        ({"gap_tolerance_pct": "0.00001"}, "gap_tolerance_pct", "Use at most 4 decimal places."),
    ],
)
def test_a_setting_out_of_range_says_its_range(world, api, client, change, field, message):
    response = api(world.admin).patch("/api/v1/orgs/acme/settings/", change, format="json")
    assert response.status_code == 400
    assert response.json()[field] == [message], response.json()
    client.force_login(world.admin)
    page = client.post("/o/acme/admin/settings/", change)
    assert page.status_code == 400
    errors = re.search(
        rf'<ul class="errorlist" id="setting-{field}-errors">(.*?)</ul>',
        page.content.decode(),
        re.S,
    )
    assert errors and message in errors.group(1), errors and errors.group(1)


def test_a_page_forms_own_field_says_it_in_peoples_words(planning, world, client):
    lock(planning.pipeline)
    client.force_login(world.owner)
    page = client.post(f"/o/acme/krs/{planning.pipeline.pk}/target/", {"target": "", "version": ""})
    html = page.content.decode()
    assert page.status_code == 400
    assert "This field is required." not in html and "Required: give a value." in html
