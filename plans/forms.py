"""The Django Forms of the plan pages (SPEC.md §6): the plan editor, the check-in, the
cycle tree's numbers and filters.

Numbers go through the one parser (`NumberFormField`, okrplan/lib/fields.py's
`parse_decimal`). Every rule about the values is the services' (the API's validation),
whose messages name the period; the plan editor's form only knows which input a message
is about, so the page can show it there with what was typed.
"""

import re
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError

from hierarchy.models import KeyResult
from okrplan.lib.forms import Form, NumberFormField, form_add_service_errors
from okrplan.lib.numbers import fmt
from plans import services
from plans.models import Shape
from plans.services import PlannedChange

PRESETS = [Shape.LINEAR, Shape.FRONT_LOADED, Shape.BACK_LOADED, Shape.HISTORY]
# "(value 2)" in a service's message names the period input it is about.
VALUE_INDEX = re.compile(r"\(value (\d+)\)")


class PeriodInputs(forms.TextInput):
    """The plan editor's period inputs: one name (`values`), one input per period."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])


class PeriodValuesField(forms.Field):
    """The plan's values, one per period, each read by the one parser (`NumberFormField`);
    a bad one's error names its period ("Jan 2026 (value 1): …"), the first one only."""

    widget = PeriodInputs
    number = NumberFormField(error_messages={"required": "Must be a number."})

    def __init__(self, *, periods, **kwargs):
        self.periods = periods
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> list[Decimal]:
        values = []
        for i, text in enumerate((value or [])[: len(self.periods) + 5]):
            try:
                values.append(self.number.clean(text))
            except ValidationError as error:
                label = self.periods[i].label if i < len(self.periods) else f"Period {i + 1}"
                raise ValidationError(f"{label} (value {i + 1}): {error.messages[0]}") from None
        return values


class VersionField(NumberFormField):
    """The version the editor started from (a hidden input): a whole number, or 0, which
    no plan is at, so that a mangled one answers as a stale version does."""

    def to_python(self, value) -> int:
        try:
            number = super().to_python(value)
        except ValidationError:
            return 0
        return int(number) if number is not None and number == number.to_integral_value() else 0


class PlanForm(Form):
    """The plan editor (SPEC.md §6): the values typed per period (a save), or a preset
    shape and a target (`action=shape`), with the version it started from and, on a
    locked plan, the rationale. The form reads the fields its action uses; every rule
    about the values is the services', whose errors `add_service_errors` puts on the
    field (and the period input) they name. The template renders the inputs by hand."""

    values = PeriodValuesField(periods=())
    target = NumberFormField(
        required=False, error_messages={"required": "Give the target to reach, as a number."}
    )
    shape = forms.CharField(required=False)
    rationale = forms.CharField(required=False, strip=False)
    # and `version`, a VersionField added by __init__: `form.version` is the number (a
    # property, which the impact preview reads), `form["version"]` the field

    def __init__(self, data=None, *, kr: KeyResult, action: str | None = None, **kwargs):
        super().__init__(data, **kwargs)
        self.kr = kr
        self.action = "shape" if action == "shape" else "values"
        self.fields["version"] = VersionField(required=False)
        periods = kr.cycle.periods
        self.fields["values"] = PeriodValuesField(periods=periods)
        if action == "shape":
            self.fields["target"].required = True
            self.fields["values"] = forms.Field(widget=PeriodInputs, required=False)  # unread
        else:
            self.fields["target"] = forms.Field(required=False)  # shown as typed, unread
        self.stale_version: int | None = None
        self.submit_errors: list[str] = []

    @classmethod
    def of_plan(cls, kr: KeyResult) -> "PlanForm":
        plan = kr.plan
        return cls(
            kr=kr,
            initial={
                "values": [fmt(v) for v in plan.values],
                "version": plan.version,
                "shape": plan.shape if plan.shape in PRESETS else Shape.LINEAR,
                "target": fmt(kr.target),
                "rationale": "",
            },
        )

    @classmethod
    def of_post(cls, kr: KeyResult, data, *, action: str | None = None) -> "PlanForm":
        return cls(data, kr=kr, action=action)

    @property
    def raw(self) -> list[str]:
        """What the period inputs show: what was typed (as many as the periods and a few
        more), or the stored plan."""
        if not self.is_bound:
            return self.initial["values"]
        n = len(self.kr.cycle.periods)
        return [str(v)[:60] for v in self.data.getlist("values")][: n + 5]

    @property
    def version(self) -> int:
        if not self.is_bound:
            return self.initial["version"]
        return self.fields["version"].to_python(self.data.get("version"))

    def clean_shape(self) -> str:
        shape = self.cleaned_data["shape"]
        return shape if shape in PRESETS else ""

    def clean_rationale(self) -> str:
        return self.cleaned_data["rationale"][:4000]

    def add_service_errors(self, error: ValidationError) -> None:
        form_add_service_errors(self, error)

    def change(self) -> PlannedChange:
        """What saving this form writes (`services.planned_change`): the period values, or
        (`action=shape`) the preset's values for the target to reach. The editor's save
        and its impact preview both ask this, so the preview is what the save does; a
        ValidationError names the field (the form's or the service's)."""
        if not self.is_valid():
            raise ValidationError({name: list(msgs) for name, msgs in self.errors.items()})
        data = self.cleaned_data
        if self.action == "shape":
            return services.planned_change(self.kr, shape=data["shape"], target=data["target"])
        return services.planned_change(self.kr, values=data["values"])

    @property
    def preview_of(self) -> str:
        """What the preview shows, in the words of the button that saves it."""
        if self.action != "shape":
            return "save these values"
        shape, target = self.cleaned_data["shape"], self.cleaned_data["target"]
        unit = f" {self.kr.unit}".rstrip()
        return f"apply “{Shape(shape).label}” to reach {fmt(target, grouped=True)}{unit}"

    @property
    def value_errors(self) -> dict[int, list[str]]:
        """The errors of each period input: those whose message names its value."""
        found: dict[int, list[str]] = {}
        for message in self.errors.get("values", []):
            match = VALUE_INDEX.search(message)
            index = int(match.group(1)) - 1 if match else None
            if index is not None and 0 <= index < len(self.raw):
                found.setdefault(index, []).append(message)
        return found

    @property
    def first_invalid(self) -> int | None:
        """The first period input with an error: the page puts the focus there."""
        return min(self.value_errors, default=None)

    @property
    def all_errors(self) -> list[str]:
        return [m for messages_ in self.errors.values() for m in messages_] + self.submit_errors

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
    try:
        return PeriodValuesField(periods=kr.cycle.periods).clean(raw)
    except ValidationError as error:
        raise ValidationError({"values": error.messages}) from None


class CheckInForm(Form):
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


class KrNumbersForm(Form):
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


class TreeFilterForm(Form):
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
