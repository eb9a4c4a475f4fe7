"""Input fields for numbers: JSON numbers or numeric strings, finite, clearly refused."""

from decimal import Decimal, InvalidOperation

from rest_framework import serializers

from okrplan.lib.numbers import fmt

MAX_ABS = Decimal("1e15")


def parse_decimal(value) -> Decimal:
    """A finite Decimal from a JSON number or a numeric string, or ValueError saying why."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a number")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("must be a number")
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{value[:30]!r} is not a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number (not NaN or Infinity)")
    if abs(number) >= MAX_ABS:
        raise ValueError(f"must be smaller than {MAX_ABS:,.0f} in size")
    return number


class NumberField(serializers.Field):
    """A number: in, a JSON number or a numeric string; out, a string (API.md). Its schema,
    which differs by direction, is okrplan/lib/schema.py's NumberFieldExtension."""

    default_error_messages = {"invalid": "{reason}."}

    def to_internal_value(self, data) -> Decimal:
        try:
            return parse_decimal(data)
        except ValueError as error:
            self.fail("invalid", reason=str(error).capitalize())

    def to_representation(self, value) -> str:
        return fmt(value)


class NumberListField(serializers.Field):
    """A list of numbers; an error names the position of each bad value (1-based).
    Schema: okrplan/lib/schema.py's NumberListFieldExtension."""

    default_error_messages = {
        "not_a_list": "Give a list of numbers, one per period.",
        "invalid": "{errors}",
    }

    def to_internal_value(self, data) -> list[Decimal]:
        if not isinstance(data, list):
            self.fail("not_a_list")
        values, errors = [], []
        for i, item in enumerate(data, start=1):
            try:
                values.append(parse_decimal(item))
            except ValueError as error:
                errors.append(f"value {i} {error}")
            if len(errors) >= 5:
                break
        if errors:
            raise serializers.ValidationError([e[0].upper() + e[1:] + "." for e in errors])
        return values

    def to_representation(self, value) -> list[str]:
        return [fmt(v) for v in value]
