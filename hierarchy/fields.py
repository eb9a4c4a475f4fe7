"""Serializer fields that resolve references inside the caller's organization.

A foreign id or username answers exactly like a missing one, so a body can
never attach another tenant's object, nor learn that it exists.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from okrplan.lib.text import NUL_MESSAGE


@extend_schema_field(OpenApiTypes.STR)
class MemberField(serializers.Field):
    """A member of the organization, named by username."""

    default_error_messages = {
        "not_member": "No member of this organization is named {value!r}.",
        "invalid": "Give a username as a string.",
        "null_characters": NUL_MESSAGE,
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data.strip():
            self.fail("invalid")
        if "\x00" in data:  # PostgreSQL cannot even compare one (500, found by fuzzing)
            self.fail("null_characters")
        org = self.context["org"]
        user = (
            get_user_model()
            .objects.filter(username=data.strip(), memberships__organization=org)
            .first()
        )
        if user is None:
            self.fail("not_member", value=data[:150])
        return user

    def to_representation(self, value):
        return value.username


@extend_schema_field(OpenApiTypes.INT)
class OrgRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of a row of the caller's organization (`model` names the tenant model)."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.filter(organization=self.context["org"])
