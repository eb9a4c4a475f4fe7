"""Every serializer that reads input is strict (okrplan/lib/strict.py; issue 13 item 9):
it derives from `InputSerializer` (unknown fields refused) and its text and number fields,
nested ones included, are the strict fields. Found by walking the API's operations (each
request body, each serializer nested in a view that is not an answer) and our apps' modules
(the serializers named for input, which the pages use), so a new one cannot be forgotten."""

import importlib
import inspect
import pkgutil

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from okrplan.lib import strict

APPS = ["hierarchy", "plans", "notifications", "okrplan"]
INPUT_NAMES = ("InputSerializer", "PatchSerializer", "FilterSerializer")


def _serializer_classes(value) -> set[type]:
    """The serializer classes an annotation (a class, an instance, a dict of them) names."""
    if isinstance(value, OpenApiResponse):
        value = value.response
    if isinstance(value, dict):
        return {c for v in value.values() for c in _serializer_classes(v)}
    if isinstance(value, serializers.ListSerializer):
        value = value.child
    if isinstance(value, serializers.BaseSerializer):
        value = type(value)
    if inspect.isclass(value) and issubclass(value, serializers.BaseSerializer):
        return {value}
    return set()


def _nested_serializers(cls) -> set[type]:
    return {
        value
        for value in vars(cls).values()
        if inspect.isclass(value) and issubclass(value, serializers.BaseSerializer)
    }


def api_input_serializers() -> dict[type, str]:
    """Each serializer an API operation reads, with where it was found: the request
    bodies, and the serializers nested in a view that none of its operations answers."""
    generator = SchemaGenerator()  # the endpoints /api/schema/ documents
    generator._initialise_endpoints()
    endpoints = generator._get_paths_and_endpoints()
    assert len(endpoints) >= 40, "the walk found too few operations: is the URLconf read?"
    found: dict[type, str] = {}
    views: dict[type, tuple[str, set[type]]] = {}
    for path, _regex, method, view in endpoints:
        schema = view.schema
        schema.method, schema.path = method, path
        for cls in _serializer_classes(schema.get_request_serializer()):
            found.setdefault(cls, f"{method} {path}")
        answers = views.setdefault(type(view), (path, set()))[1]
        answers |= _serializer_classes(schema.get_response_serializers())
    for view_class, (path, answers) in views.items():
        for cls in _nested_serializers(view_class) - answers:
            found.setdefault(cls, path)
    return found


def module_input_serializers() -> dict[type, str]:
    """Each serializer class of our apps' modules (nested ones too) named for input."""
    found: dict[type, str] = {}
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name or info.name.endswith((".settings", ".wsgi")):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if not inspect.isclass(value) or value.__module__ != module.__name__:
                    continue
                for cls in {value} | _nested_serializers(value):
                    if issubclass(cls, serializers.BaseSerializer) and cls.__name__.endswith(
                        INPUT_NAMES
                    ):
                        found.setdefault(cls, module.__name__)
    return found


def problems(cls: type, where: str) -> list[str]:
    """What is not strict about a serializer class reading input, and its fields."""
    name = f"{cls.__module__}.{cls.__qualname__} ({where})"
    found = []
    if not issubclass(cls, strict.InputSerializer):
        found.append(f"{name} does not derive from okrplan.lib.strict.InputSerializer")
    for field_name, field in cls().fields.items():
        found += _field_problems(field, f"{name}.{field_name}", where)
    return found


def _field_problems(field, name: str, where: str) -> list[str]:
    if field.read_only:
        return []
    if isinstance(field, serializers.ListSerializer):
        field = field.child
    if isinstance(field, serializers.BaseSerializer):
        return problems(type(field), where)
    if isinstance(field, serializers.ListField | serializers.DictField):
        return _field_problems(field.child, f"{name}[]", where)
    if isinstance(field, serializers.CharField) and not isinstance(field, strict.TextField):
        return [f"{name} is DRF's {type(field).__name__}: use okrplan.lib.strict.TextField"]
    numbers = serializers.IntegerField | serializers.DecimalField | serializers.FloatField
    if isinstance(field, numbers) and not isinstance(field, strict.PlainNotation):
        return [f"{name} is DRF's {type(field).__name__}: use okrplan.lib.strict's"]
    return []


def test_it_finds_the_input_serializers_of_operations_and_pages():
    from hierarchy.apis import SettingsSerializer
    from notifications.report_apis import QuarterlyReportApi
    from plans.apis import KrDetailApi, PlanInputSerializer

    found = {**module_input_serializers(), **api_input_serializers()}
    for cls in [
        SettingsSerializer,  # a ModelSerializer, found by its request annotation
        PlanInputSerializer,
        KrDetailApi.PatchSerializer,
        QuarterlyReportApi.FilterSerializer,  # a query, nested in its view
    ]:
        assert cls in found
    assert any(where.startswith("POST /api/v1/auth/token/") for where in found.values())


def test_it_reads_every_input_with_a_strict_serializer():
    found = {**module_input_serializers(), **api_input_serializers()}
    found = [problem for cls, where in found.items() for problem in problems(cls, where)]
    assert not found, "\n".join(found)
