"""`{{ value|num }}`: a figure as the pages write it (thousands separators, no trailing
zeros; "—" for none), with the one formatter the API's serializers use too."""

from decimal import Decimal

from django import template

from okrplan.lib.numbers import fmt

register = template.Library()


@register.filter
def num(value: Decimal | int | None) -> str:
    return "—" if value is None or value == "" else fmt(Decimal(value), grouped=True)
