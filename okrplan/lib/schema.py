"""OpenAPI schema generation (kept apart from api.py: DRF imports it lazily)."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

# A number as the API answers it: a decimal string (DRF's COERCE_DECIMAL_TO_STRING).
DECIMAL_OUT = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
# ... and as it accepts one: a JSON number or a numeric string (okrplan/lib/fields.py).
DECIMAL_IN = {
    "oneOf": [
        {"type": "number"},
        {"type": "string", "format": "decimal", "pattern": r"^-?\d{1,15}(\.\d{1,6})?$"},
    ]
}


class NumberFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "okrplan.lib.fields.NumberField"

    def map_serializer_field(self, auto_schema, direction):
        return dict(DECIMAL_OUT if direction == "response" else DECIMAL_IN)


class NumberListFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "okrplan.lib.fields.NumberListField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "array", "items": DECIMAL_OUT if direction == "response" else DECIMAL_IN}


class AutoSchema(openapi.AutoSchema):
    """Names nested `InputSerializer`/`OutputSerializer` components after their API.

    `RegisterApi.InputSerializer` becomes `RegisterApiInput`, so the one-APIView-
    per-operation style does not make components collide in /api/schema/.

    Every list the API answers is a page (`okrplan.lib.api.paginated`, API.md): the
    schema says so, `{count, next, previous, results}` with `page` and `page_size`,
    although our APIViews have no `pagination_class` for drf-spectacular to find.
    """

    def _get_paginator(self):
        from okrplan.lib.api import Pagination  # lazily, like DRF imports this module

        return super()._get_paginator() or Pagination()

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        if "." not in cls.__qualname__:
            return name
        owner = cls.__qualname__.rsplit(".", 1)[0].replace(".", "")
        if name.startswith("Patched"):
            return "Patched" + owner + name.removeprefix("Patched")
        return owner + name
