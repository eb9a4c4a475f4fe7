"""Strict input: the base serializers and fields every serializer that reads a request
is made of (issue 13 item 9). By plain subclassing of DRF's classes:

- `InputSerializer` (and `InputModelSerializer`): a key the operation does not take
  answers 400 naming it, instead of being silently ignored (a typo, `"tagret"`, or a
  field that is only ever answered, `"id"`);
- `TextField` (`EmailField`, `SlugField`): text is a string, not a number made into one
  (`"note": 0`);
- `IntegerField`, `DecimalField`, `FloatField`: numbers are read with the API's one
  parser (okrplan/lib/fields.py): plain decimal notation, not `1_000`, `+5`, ` 5` or
  other scripts' digits;
- every field, of whatever class, says what is wrong in people's words, not DRF's
  ("Required: give a value." for "This field may not be null."): okrplan/lib/messages.py
  (issue 16 §5).

`InputModelSerializer` maps model fields to these fields. tests/test_strict_serializers.py
walks every operation and page form: each serializer reading input derives from
`InputSerializer` and has only these text and number fields.
"""

from collections.abc import Mapping

from rest_framework import serializers

from okrplan.lib.fields import check_notation, number_message
from okrplan.lib.messages import drf_field

MAX_NAMED = 10  # unknown fields named in one answer


def refuse_unknown_fields(serializer: serializers.Serializer, data) -> None:
    """A ValidationError naming each key of `data` that is not a writable field."""
    if not isinstance(data, Mapping):
        return
    known = [field.field_name for field in serializer._writable_fields]
    unknown = [key for key in data if key not in known]
    if not unknown:
        return
    takes = ", ".join(sorted(known)) if known else "no fields"
    message = f"Unknown field: not one this operation takes (it takes {takes})."
    raise serializers.ValidationError({str(key)[:100]: [message] for key in unknown[:MAX_NAMED]})


# The base of every serializer that reads a request body, a query or a page's form: unknown
# keys are refused before anything else is validated, so nothing is written. (Comments, not
# docstrings, on the bases: drf-spectacular would make a base's docstring the description
# of every schema component derived from it.)
class InputSerializer(serializers.Serializer):
    def get_fields(self):
        return {name: drf_field(field) for name, field in super().get_fields().items()}

    def to_internal_value(self, data):
        refuse_unknown_fields(self, data)
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """DRF's CharField, taking only a string (DRF's took 0 and 1.5 as "0" and "1.5")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("Give text (a JSON string).")
        return super().to_internal_value(data)


class EmailField(TextField, serializers.EmailField):
    """DRF's EmailField, taking only a string."""


class SlugField(TextField, serializers.SlugField):
    """DRF's SlugField, taking only a string."""


class PlainNotation:
    """A DRF number field that reads a string in plain decimal notation only (the size
    is the field's to check: max_value, max_digits)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                check_notation(data)
            except ValueError as error:
                raise serializers.ValidationError(number_message(error)) from None
        return super().to_internal_value(data)


class IntegerField(PlainNotation, serializers.IntegerField):
    pass


class DecimalField(PlainNotation, serializers.DecimalField):
    pass


class FloatField(PlainNotation, serializers.FloatField):
    pass


STRICT_FIELDS = {
    serializers.CharField: TextField,
    serializers.EmailField: EmailField,
    serializers.SlugField: SlugField,
    serializers.IntegerField: IntegerField,
    serializers.DecimalField: DecimalField,
    serializers.FloatField: FloatField,
}


# A ModelSerializer that reads input: unknown keys refused, and the model's text and number
# fields read by the strict fields above.
class InputModelSerializer(InputSerializer, serializers.ModelSerializer):
    serializer_field_mapping = {
        model_field: STRICT_FIELDS.get(field, field)
        for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
    }
