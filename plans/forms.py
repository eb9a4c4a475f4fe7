"""What the plan pages post, parsed for the plans services (SPEC.md §6).

Plain parsing only: every rule about the values is the services' (the API's
validation), whose messages name the period; this module only knows which input
a message is about, so the page can show it there with what was typed.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from hierarchy.models import KeyResult
from okrplan.lib.fields import number_message, parse_decimal
from okrplan.lib.forms import NumberFormField
from okrplan.lib.numbers import fmt
from plans.models import Shape

PRESETS = [Shape.LINEAR, Shape.FRONT_LOADED, Shape.BACK_LOADED, Shape.HISTORY]
# "(value 2)" in a service's message names the period input it is about.
VALUE_INDEX = re.compile(r"\(value (\d+)\)")


def parse_number(text: str) -> Decimal:
    """A number as typed ("1,000,000", "12.5"): the API's parser, or its ValueError."""
    return parse_decimal(text.strip(), grouped=True)


@dataclass
class PlanForm:
    """What the editor shows in its inputs: the stored plan, or what was posted."""

    raw: list[str]
    version: int
    rationale: str = ""
    shape: str = Shape.LINEAR
    target: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    value_errors: dict[int, list[str]] = field(default_factory=dict)
    stale_version: int | None = None

    @classmethod
    def of_plan(cls, kr: KeyResult) -> "PlanForm":
        plan = kr.plan
        shape = plan.shape if plan.shape in PRESETS else Shape.LINEAR
        return cls(
            raw=[fmt(v) for v in plan.values],
            version=plan.version,
            shape=shape,
            target=fmt(kr.target),
        )

    @classmethod
    def of_post(cls, kr: KeyResult, data) -> "PlanForm":
        n = len(kr.cycle.periods)
        raw = [str(v)[:60] for v in data.getlist("values")][: n + 5]
        try:
            version = int(data.get("version", ""))
        except ValueError:
            version = 0
        return cls(
            raw=raw,
            version=version,
            rationale=data.get("rationale", "")[:4000],
            shape=data.get("shape", Shape.LINEAR),
            target=data.get("target", "")[:60],
        )

    def add(self, error: ValidationError) -> None:
        for name, messages_ in error.message_dict.items():
            for message in messages_:
                match = VALUE_INDEX.search(message) if name == "values" else None
                index = int(match.group(1)) - 1 if match else None
                if index is not None and 0 <= index < len(self.raw):
                    self.value_errors.setdefault(index, []).append(message)
                key = "__all__" if name == NON_FIELD_ERRORS else name
                self.errors.setdefault(key, []).append(message)

    @property
    def first_invalid(self) -> int | None:
        """The first period input with an error: the page puts the focus there."""
        return min(self.value_errors, default=None)

    @property
    def all_errors(self) -> list[str]:
        return [m for messages_ in self.errors.values() for m in messages_]

    @property
    def values_errors(self) -> list[str]:
        return self.errors.get("values", [])

    @property
    def rationale_errors(self) -> list[str]:
        return self.errors.get("rationale", [])

    @property
    def shape_errors(self) -> list[str]:
        return self.errors.get("shape", [])

    @property
    def target_errors(self) -> list[str]:
        return self.errors.get("target", [])


def parse_values(kr: KeyResult, raw: list[str]) -> list[Decimal]:
    """The typed values as decimals; a ValidationError naming the period of a bad one."""
    periods = kr.cycle.periods
    values = []
    for i, text in enumerate(raw):
        try:
            values.append(parse_number(text))
        except ValueError as error:
            label = periods[i].label if i < len(periods) else f"Period {i + 1}"
            raise ValidationError(
                {"values": [f"{label} (value {i + 1}): {number_message(error)}"]}
            ) from None
    return values


class CheckInForm(forms.Form):
    """A check-in as typed: the period it is for, the actual value, a note. Whether the
    period may be checked in and the value fits the KR is `checkin_create`'s."""

    period = NumberFormField(
        error_messages={
            "required": "Choose the period this value is for.",
            "invalid": "Choose the period this value is for.",
        }
    )
    value = NumberFormField(error_messages={"required": "Give the actual value, as a number."})
    note = forms.CharField(required=False, strip=False)

    def clean_period(self) -> int | None:
        period = self.cleaned_data["period"]
        if period != period.to_integral_value():
            raise forms.ValidationError("Choose the period this value is for.")
        return int(period)

    def clean_note(self) -> str:
        return self.cleaned_data["note"][:4000]


class KrNumbersForm(forms.Form):
    """The numbers of the cycle tree's KR forms as people type them ("5,000,000"): read
    by the one parser, then given to the API's serializer (plans/tree_views.py), which
    validates the rest of the form with the API's messages."""

    start_value = NumberFormField(required=False)
    target = NumberFormField(required=False)

    def api_data(self, values: dict) -> tuple[dict, dict[str, list[str]]]:
        """`values` with each number in the API's notation, and the errors by field."""
        self.is_valid()
        data = dict(values)
        for name, number in self.cleaned_data.items():
            if number is not None:
                data[name] = format(number, "f")
        return data, {name: [str(m) for m in messages_] for name, messages_ in self.errors.items()}


class TreeFilterForm(forms.Form):
    """The cycle tree's filters (GET): a department, an owner, a status, shared KRs only,
    archived ones too. The departments and owners to choose from are those of the cycle's
    key results, set by the view once it has read them (no query of their own)."""

    department = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": "Choose a department from the list."},
    )
    owner = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": "Choose an owner from the list."}
    )
    status = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": "Choose a status from the list."}
    )
    shared = forms.BooleanField(required=False)
    archived = forms.BooleanField(required=False)

    KR_FILTERS = ("department", "owner", "status", "shared")

    def show_archived(self) -> bool:
        """Read first: it decides which rows are loaded."""
        return self.fields["archived"].clean(self["archived"].data)

    def offer(self, *, departments, owners, statuses) -> None:
        """The choices: (value, label) pairs."""
        self.fields["department"].choices = [("", "All departments"), *departments]
        self.fields["owner"].choices = [("", "Everyone"), *owners]
        self.fields["status"].choices = [("", "Any status"), *statuses]

    def values(self) -> dict:
        """The valid filters (a refused one is left out, its error shown by the field)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned.get(name)
            for name in self.fields
            if name not in self.errors and cleaned.get(name) not in (None, "", False)
        }

    def query(self) -> str:
        """The valid filters as a query string, for the links and forms that come back."""
        return urlencode({k: "1" if v is True else v for k, v in self.values().items()})
