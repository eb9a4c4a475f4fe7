"""OpenAPI schema generation (kept apart from api.py: DRF imports it lazily)."""

from drf_spectacular import openapi


class AutoSchema(openapi.AutoSchema):
    """Names nested `InputSerializer`/`OutputSerializer` components after their API.

    `RegisterApi.InputSerializer` becomes `RegisterApiInput`, so the one-APIView-
    per-operation style does not make components collide in /api/schema/.
    """

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        if "." not in cls.__qualname__:
            return name
        owner = cls.__qualname__.rsplit(".", 1)[0].replace(".", "")
        if name.startswith("Patched"):
            return "Patched" + owner + name.removeprefix("Patched")
        return owner + name
