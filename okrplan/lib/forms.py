"""What the pages' forms are made of.

Pages validate with Django Forms: `NumberFormField` is the one number parser's form
field (okrplan/lib/fields.py's `parse_decimal`, with thousands separators as people type
them), and `form_add_service_errors` puts a service's ValidationError on the fields it
names. The one page left that parses its POST with the API's own input serializer is the
cycle tree's objective and KR forms (plans/tree_views.py, being reworked): `form_data`,
`validated`, and `form_errors`, which turns either kind of ValidationError (DRF's from the
serializer, Django's from the service) into `{field: [message, ...]}` for the template.
"""

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as DrfValidationError

from okrplan.lib.fields import number_message, parse_decimal
from okrplan.lib.messages import django_error


class PeopleErrors:
    """A Django Form whose errors are in people's words: a framework message of its
    fields ("This field is required.", "Enter a valid date.") is replaced once the form
    is cleaned (okrplan/lib/messages.py); one the form or a service wrote stays."""

    def full_clean(self):
        super().full_clean()
        for errors in (self._errors or {}).values():
            errors.data[:] = [
                e for error in errors.as_data() for e in django_error(error).error_list
            ]


class Form(PeopleErrors, forms.Form):
    """The pages' form base (tests/test_people_messages.py: every page form derives
    from PeopleErrors)."""


NON_FIELD = "form"  # templates cannot read keys that start with "_"
FormErrors = dict[str, list[str]]


def form_data(post: QueryDict, fields: list[str], *, optional: tuple[str, ...] = ()) -> dict:
    """The named fields of a POST as a plain dict (as if sent as JSON).

    A plain dict, not the QueryDict: DRF treats a blank HTML field of an optional
    field as "not sent", which would keep the old value when a user clears a box.
    Here a blank required field is refused like in JSON; a blank `optional` field
    is None (what JSON would send for "no value").
    """
    data = {}
    for field in fields:
        if field not in post:
            continue
        value = post.get(field, "").strip()
        if value == "" and field in optional:
            data[field] = None
            continue
        data[field] = value
    return data


def form_errors(error: Exception) -> FormErrors:
    """`{field: [message, ...]}` of a DRF or Django ValidationError."""
    if isinstance(error, DrfValidationError):
        detail = error.detail
        if isinstance(detail, dict):
            return {
                (NON_FIELD if key in ("non_field_errors", "detail") else key): _strings(value)
                for key, value in detail.items()
            }
        return {NON_FIELD: _strings(detail)}
    if isinstance(error, DjangoValidationError):
        error = django_error(error)
        if hasattr(error, "error_dict"):
            return {
                (NON_FIELD if key == "detail" else key): list(messages)
                for key, messages in error.message_dict.items()
            }
        return {NON_FIELD: list(error.messages)}
    raise TypeError(f"not a validation error: {error!r}")


def _strings(value) -> list[str]:
    if isinstance(value, list | tuple):
        return [message for item in value for message in _strings(item)]
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _strings(v)]
    return [str(value)]


def validated(serializer: serializers.Serializer) -> dict:
    """The serializer's validated data, or DRF's ValidationError (caught by the view)."""
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class NumberFormField(forms.Field):
    """A decimal number as people type it: "4600000.5" or "4,600,000" (the API's parser)."""

    widget = forms.TextInput
    max_length = 40
    # "invalid" may be set to one sentence of the page's own ("Choose the period …");
    # by default it is the parser's reason.
    default_error_messages = {"invalid": "%(reason)s"}

    def widget_attrs(self, widget):
        return {
            **super().widget_attrs(widget),
            "inputmode": "decimal",
            "autocomplete": "off",
            "maxlength": str(self.max_length),
        }

    def to_python(self, value):
        value = (value or "").strip()
        if value in self.empty_values:
            return None
        if len(value) > self.max_length:
            raise DjangoValidationError(f"Enter at most {self.max_length} characters.", code="long")
        try:
            return parse_decimal(value, grouped=True)
        except ValueError as error:
            raise DjangoValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={"reason": number_message(error)},
            ) from None


def form_add_service_errors(form: forms.Form, error: DjangoValidationError, aliases=None) -> None:
    """Put a service's ValidationError on the fields it names (else on the form)."""
    aliases = aliases or {}
    error = django_error(error)
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        name = aliases.get(field, field)
        form.add_error(name if name in form.fields else None, messages)
