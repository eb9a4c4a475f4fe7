"""Validators of our own, in people's words (okrplan/lib/messages.py)."""

from django.core.validators import BaseValidator
from django.utils.deconstruct import deconstructible


@deconstructible(path="okrplan.lib.validators.MoreThan")
class MoreThan(BaseValidator):
    """Above `limit_value`, not equal to it: hours of the protocol are "decimals > 0"
    (API.md), which `MinValueValidator(0.000001)` said as "greater than or equal to
    0.000001". Not a MinValueValidator, so DRF keeps it as a validator of its field (and
    the same message reaches the API and the pages)."""

    message = "Must be more than %(limit_value)s."
    code = "more_than"

    def compare(self, a, b):
        return a <= b
