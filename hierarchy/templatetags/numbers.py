"""`{{ value|num }}`: a figure as the pages write it (thousands separators, no trailing
zeros; "—" for none): okrplan.lib.numbers.num, over the one formatter (`fmt`) the API's
serializers use too. `{{ value|qty:unit }}`: the figure with its unit ("8,000 visitors"):
the unit of the object the figure belongs to (`c.target|qty:c.unit`), never another's."""

from decimal import Decimal

from django import template

from okrplan.lib import numbers

register = template.Library()


@register.filter
def num(value: Decimal | int | str | None) -> str:
    return numbers.num(None if value is None or value == "" else Decimal(value))


@register.filter
def qty(value: Decimal | int | str | None, unit: str | None) -> str:
    if value is None or value == "":
        return "—"
    return numbers.qty(Decimal(value), unit)
