"""`{{ value|num }}`: a figure as the pages write it (thousands separators, no trailing
zeros; "—" for none): okrplan.lib.numbers.num, over the one formatter (`fmt`) the API's
serializers use too."""

from decimal import Decimal

from django import template

from okrplan.lib import numbers

register = template.Library()


@register.filter
def num(value: Decimal | int | str | None) -> str:
    return numbers.num(None if value is None or value == "" else Decimal(value))
