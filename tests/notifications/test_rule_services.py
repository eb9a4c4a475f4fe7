"""`rule_set`: the one place that checks a rule's threshold, for the API and the page."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from notifications import selectors
from notifications.models import PropagationRule
from notifications.services import rule_set


@pytest.mark.parametrize("threshold", ["0", "-3", "0.0009", "1000.001", "5000"])
def test_it_refuses_a_threshold_out_of_range_and_writes_nothing(world, threshold):
    with pytest.raises(ValidationError) as error:
        rule_set(
            org=world.org,
            kr=None,
            upward="threshold",
            downward="none",
            threshold_pct=Decimal(threshold),
        )
    assert error.value.message_dict == {
        "threshold_pct": ["Give a percentage above 0 and at most 1000."]
    }
    assert not PropagationRule.objects.exists()


@pytest.mark.parametrize("threshold", ["0.001", "12.5", "1000"])
def test_it_takes_a_threshold_in_range(world, threshold):
    rule_set(
        org=world.org,
        kr=None,
        upward="threshold",
        downward="none",
        threshold_pct=Decimal(threshold),
    )
    assert selectors.rule_default(org=world.org).threshold_pct == Decimal(threshold)


def test_without_a_threshold_the_stored_one_stays(world):
    rule_set(org=world.org, kr=None, upward="threshold", downward="none", threshold_pct=Decimal(7))
    rule = rule_set(org=world.org, kr=None, upward="notify", downward="none")
    assert (rule.upward, rule.threshold_pct) == ("notify", Decimal(7))
