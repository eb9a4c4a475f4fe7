"""Input fields for numbers: JSON numbers or numeric strings, finite, clearly refused.

One parser, `parse_decimal`, for every number the API and the pages read (the pages'
`NumberFormField` in every page's Django Form, the plan editor's and the check-in's
included; the CSV/XLSX import; and okrplan/lib/strict.py's integer and decimal fields):
a JSON number, or a string in plain decimal notation, ASCII digits with an optional
leading `-` and decimal part (`-1234.5`). Python's Decimal and int also take `1_000`,
`+5`, ` 5 `, `1e3`, Arabic-Indic and full-width digits, which nobody means as a number
here (issue 13 item 9).
"""

import re
from decimal import Decimal, InvalidOperation

from rest_framework import serializers

from okrplan.lib.numbers import fmt

MAX_ABS = Decimal("1e15")
PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
# What people type in the pages, which show numbers that way: thousands separated by commas.
GROUPED = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", re.ASCII)
NOTATION = "write digits, with an optional leading - and decimal point, like -1234.5"


def check_notation(text: str) -> None:
    """ValueError unless `text` is in plain decimal notation (whatever its size)."""
    if text == "":
        raise ValueError("must be a number")
    if not PLAIN.fullmatch(text):
        raise ValueError(f"“{text[:30]}” is not a number ({NOTATION})")


def parse_decimal(value, *, grouped: bool = False) -> Decimal:
    """A finite Decimal from a JSON number or a string in plain decimal notation (with
    `grouped`, what a person typed: `1,000,000` too), or ValueError saying why."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a number")
    if isinstance(value, float):
        value = repr(value)  # a JSON number, whatever its notation (1e-07 included)
    elif isinstance(value, int):
        value = str(value)
    elif isinstance(value, str):
        if grouped and GROUPED.fullmatch(value):
            value = value.replace(",", "")
        check_notation(value)
    else:
        raise ValueError("must be a number")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValueError(f"“{value[:30]}” is not a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number (not NaN or Infinity)")
    if abs(number) >= MAX_ABS:
        raise ValueError(f"must be smaller than {MAX_ABS:,.0f} in size")
    return number


def number_message(error: ValueError) -> str:
    """parse_decimal's reason as a sentence, as the API and the pages show it."""
    reason = str(error)
    return reason[0].upper() + reason[1:] + "."


class NumberField(serializers.Field):
    """A number: in, a JSON number or a numeric string; out, a string (API.md). Its schema,
    which differs by direction, is okrplan/lib/schema.py's NumberFieldExtension."""

    default_error_messages = {"invalid": "{reason}."}

    def to_internal_value(self, data) -> Decimal:
        try:
            return parse_decimal(data)
        except ValueError as error:
            self.fail("invalid", reason=number_message(error).removesuffix("."))

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
