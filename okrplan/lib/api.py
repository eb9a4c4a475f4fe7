"""Shared HTTP plumbing for the API: pagination, errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class VersionConflict(exceptions.APIException):
    """The `version` sent is not the current one; the body carries the current version."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "version_conflict"

    def __init__(self, current_version: int):
        super().__init__(
            {
                "detail": f"This was changed since you loaded it: current version is "
                f"{current_version}. Reload and apply your change again.",
                "version": current_version,
            }
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
    if isinstance(exc, DjangoValidationError):
        return Response(validation_error_data(exc), status=status.HTTP_400_BAD_REQUEST)
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
