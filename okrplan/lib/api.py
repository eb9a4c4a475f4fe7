"""Shared HTTP plumbing for the API: pagination, errors."""

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import pagination, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from okrplan.lib.errors import StaleVersion
from okrplan.lib.fields import check_notation, number_message, parse_decimal
from okrplan.lib.messages import django_error

MAX_ID = 2**63 - 1  # ids are 64-bit (PostgreSQL bigint; SQLite's INTEGER)


class PlainIntegerField(forms.IntegerField):
    """Django's IntegerField, reading only plain decimal notation (okrplan/lib/fields.py)."""

    def to_python(self, value):
        if isinstance(value, str) and value not in self.empty_values:
            try:
                check_notation(value)
            except ValueError as error:
                raise DjangoValidationError(number_message(error), code="invalid") from None
        return super().to_python(value)


class IdFilter(django_filters.NumberFilter):
    """An id in a query string: a whole number an id can be (1 … 2⁶³−1), else a 400
    naming the parameter. Unknown ids of that shape match nothing (an empty page), like
    another organization's. The NumberFilter alone took `1.5` and sent a number too large
    for the database column to the query (500, found by the stateful fuzzing)."""

    field_class = PlainIntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class Pagination(pagination.PageNumberPagination):
    """`page_size` from 1 to 500, or a 400 naming it (DRF ignored a bad one silently)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
        return parameters

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = parse_decimal(raw)
        except ValueError:
            size = None
        if size is None or size != size.to_integral_value() or not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Give a whole number from 1 to {self.max_page_size} (got “{raw[:30]}”)."
                    ]
                }
            )
        return int(size)


TRUE, FALSE = {"1", "true", "yes"}, {"0", "false", "no"}


def _flag(raw: str) -> bool:
    """A yes/no of a query string, or ValueError with the message."""
    if raw.lower() in TRUE | FALSE:
        return raw.lower() in TRUE
    raise ValueError(f"Give true or false (1 or 0), not “{raw[:30]}”.")


def query_flag(request, name: str) -> bool:
    """A yes/no query parameter (`?unread=1`); absent is no, anything else a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return False
    try:
        return _flag(raw)
    except ValueError as error:
        raise ValidationError({name: [str(error)]}) from None


class FlagField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return _flag(str(value))
        except ValueError as error:
            raise DjangoValidationError(str(error), code="invalid") from None


class FlagFilter(django_filters.BooleanFilter):
    """A yes/no filter like `query_flag` (django-filter's took `?root=null` as absent)."""

    field_class = FlagField


def paginated(api, items, serializer_class, context=None) -> Response:
    """One page of a queryset (or list) as `{count, next, previous, results}`."""
    paginator = Pagination()
    page = paginator.paginate_queryset(items, api.request, view=api)
    return paginator.get_paginated_response(
        serializer_class(page, many=True, context=context or {}).data
    )


def validation_error_data(error: DjangoValidationError) -> dict:
    """A Django ValidationError as the API's `{"field": ["message", ...]}` body."""
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    """DRF's handler, plus domain validation errors from services as 400s."""
    if isinstance(exc, StaleVersion):
        return Response(
            {
                "detail": "This was changed since you loaded it: the current version is "
                f"{exc.current_version}. Reload and apply your change again.",
                "version": exc.current_version,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        return Response(
            validation_error_data(django_error(exc)), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, RequestDataTooBig):  # a SuspiciousOperation: else an HTML 400
        return Response(
            {
                "detail": "This request is too large: keep its body under "
                f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes (files aside)."
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ProtectedError | RestrictedError):
        names = sorted(
            {
                str(obj)
                for obj in list(
                    exc.protected_objects
                    if isinstance(exc, ProtectedError)
                    else exc.restricted_objects
                )[:5]
            }
        )
        return Response(
            {"detail": f"Still in use by: {', '.join(names)}. Remove or move those first."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
