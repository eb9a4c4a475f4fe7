"""Strict input for every serializer the API has, installed once at start-up
(hierarchy/apps.py), so that no input serializer can forget it (issue 13 item 9):

- a body field the operation does not take answers 400 naming it, instead of being
  silently ignored (a typo, `"tagret"`, or a field that is only ever answered, `"id"`);
- a text field takes a string, not a number made into one (`"note": 0`);
- DRF's own integer and decimal fields (`period`, `version`, a ModelSerializer's
  decimals) read numbers with the API's one parser (okrplan/lib/fields.py): plain
  decimal notation, not `1_000`, `+5`, ` 5` or other scripts' digits.

One mechanism on DRF's base classes rather than a base serializer each of ours must
name: DRF's own serializers (the token endpoint's) and nested ones are covered too.
"""

from collections.abc import Mapping

from rest_framework import fields, serializers

from okrplan.lib.fields import check_notation, number_message

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


def _plain_number(field: fields.Field, data) -> None:
    if isinstance(data, str):
        try:
            check_notation(data)  # the size is the field's to check (max_value, digits)
        except ValueError as error:
            raise serializers.ValidationError(number_message(error)) from None


def install() -> None:
    """Wrap DRF's Serializer, IntegerField and DecimalField input (idempotent)."""
    if getattr(serializers.Serializer, "_okrplan_strict", False):
        return
    serializer_input = serializers.Serializer.to_internal_value

    def to_internal_value(self, data):
        refuse_unknown_fields(self, data)
        return serializer_input(self, data)

    serializers.Serializer.to_internal_value = to_internal_value
    text_input = fields.CharField.to_internal_value

    def text(self, data):
        if not isinstance(data, str):  # DRF's took 0 and 1.5 as "0" and "1.5"
            raise serializers.ValidationError("Give text (a JSON string).")
        return text_input(self, data)

    fields.CharField.to_internal_value = text
    for cls in (fields.IntegerField, fields.DecimalField, fields.FloatField):
        number_input = cls.to_internal_value

        def strict(self, data, _original=number_input):
            _plain_number(self, data)
            return _original(self, data)

        cls.to_internal_value = strict
    serializers.Serializer._okrplan_strict = True
