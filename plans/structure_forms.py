"""What the structure page of a KR posts: its contributions (child KRs), how they
combine, the order of its funnel's stages and its dependencies (SPEC.md §2-§3).

Django Forms that parse what a person typed, with messages in their words; every rule
about the values is the services' (the ones the API calls: `kr_create`, `kr_update`,
`kr_stage_move`, `dependency_create`), whose ValidationError is put on the field it
names (`form_add_service_errors`). Numbers go through the one parser
(`NumberFormField`).
"""

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model

from hierarchy.models import Aggregation, Department, KeyResult, MetricKind, Role
from okrplan.lib.forms import Form, NumberFormField
from okrplan.lib.text import validate_one_line

User = get_user_model()
MAX_STAGE = 50  # the API's (KrInputSerializer.stage)


class _Form(Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AggregationForm(_Form):
    aggregation = forms.ChoiceField(
        choices=Aggregation.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how the contributions combine.",
            "invalid_choice": "Choose additive, sequential or parallel.",
        },
    )


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        name = user.get_full_name()
        return f"{name} ({user.username})" if name else user.username


class ContributionForm(_Form):
    """A child KR of `parent`: one department's contribution. Its objective is the
    parent's; its unit and metric kind start as the parent's. Per the parent's
    aggregation: a stage number and a historical ratio (sequential), a claimed impact
    (parallel)."""

    title = forms.CharField(
        max_length=300,
        validators=[validate_one_line],
        error_messages={
            "required": "Give the contribution a title: what this department delivers.",
            "max_length": "Use at most 300 characters.",
        },
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        empty_label="Choose a department",
        error_messages={
            "required": "Choose the department that contributes.",
            "invalid_choice": "Choose one of the organization's departments.",
        },
    )
    owner = OwnerChoiceField(
        queryset=User.objects.none(),
        to_field_name="username",
        required=False,
        empty_label="The department's lead",
        help_text="Blank: the lead of the department.",
        error_messages={
            "invalid_choice": "Choose one of the organization's members (viewers own nothing)."
        },
    )
    unit = forms.CharField(
        max_length=40,
        validators=[validate_one_line],
        error_messages={
            "required": "Give the unit it counts in (USD, visitors, points …).",
            "max_length": "Use at most 40 characters.",
        },
    )
    metric_kind = forms.ChoiceField(
        label="Metric",
        choices=MetricKind.choices,
        error_messages={
            "required": "Choose cumulative or level.",
            "invalid_choice": "Choose cumulative or level.",
        },
    )
    start_value = NumberFormField(
        required=False, help_text="Where a level starts (blank: 0). A flow starts at 0."
    )
    target = NumberFormField(error_messages={"required": "Give the target, as a number."})
    stage = NumberFormField(
        required=False, help_text="Its place in the funnel: 1 is the first stage."
    )
    historical_ratio = NumberFormField(
        required=False,
        help_text="Observed conversion from the previous stage, above 0 and at most 1 (optional).",
    )
    claimed_impact = NumberFormField(
        required=False,
        help_text="How much of the shared metric this work should move (optional).",
    )

    def __init__(self, *args, parent: KeyResult, **kwargs):
        self.parent = parent
        org_id = parent.organization_id
        initial = {
            "unit": parent.unit,
            "metric_kind": parent.metric_kind,
            **kwargs.pop("initial", {}),
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(
            organization_id=org_id,
            archived_at__isnull=True,  # as `departments_active`
        ).order_by("name")
        self.fields["owner"].queryset = User.objects.filter(
            memberships__organization_id=org_id,
            memberships__role__in=[Role.ADMIN, Role.MEMBER],  # viewers own nothing
        ).order_by("username")
        if parent.aggregation != Aggregation.SEQUENTIAL:
            del self.fields["stage"], self.fields["historical_ratio"]
        else:
            self.fields["stage"].required = True
            self.fields["stage"].error_messages["required"] = (
                "Give the stage's place in the funnel (1, 2, 3 …)."
            )
        if parent.aggregation != Aggregation.PARALLEL:
            del self.fields["claimed_impact"]
        if parent.aggregation == Aggregation.ADDITIVE:
            self.fields[
                "unit"
            ].help_text = (
                f"The contributions of an additive key result count in its unit ({parent.unit})."
            )

    def clean_stage(self) -> int | None:
        value = self.cleaned_data.get("stage")
        if value is None:
            return None
        if value != value.to_integral_value() or not 1 <= value <= MAX_STAGE:
            raise forms.ValidationError(
                f"Stages are numbered 1, 2, 3 … (a whole number up to {MAX_STAGE})."
            )
        return int(value)

    def service_fields(self) -> dict:
        """The keywords of `kr_create` (with `parent`), blanks left to its defaults."""
        data = dict(self.cleaned_data)
        department = data["department"]
        fields = {
            "objective": self.parent.objective,
            "parent": self.parent,
            "title": data["title"],
            "department": department,
            "owner": data["owner"] or department.lead,
            "unit": data["unit"],
            "metric_kind": data["metric_kind"],
            "target": data["target"],
            "start_value": data["start_value"] if data["start_value"] is not None else Decimal(0),
        }
        for name in ("stage", "historical_ratio", "claimed_impact"):
            if data.get(name) is not None:
                fields[name] = data[name]
        return fields


class ContributionFiguresForm(_Form):
    """A contribution's historical ratio (a stage) or claimed impact (parallel); blank
    clears it."""

    historical_ratio = NumberFormField(required=False, label="Historical ratio")
    claimed_impact = NumberFormField(required=False, label="Claimed impact")

    def __init__(self, *args, contribution: KeyResult, **kwargs):
        super().__init__(*args, **kwargs)
        aggregation = contribution.parent.aggregation
        if aggregation != Aggregation.SEQUENTIAL:
            del self.fields["historical_ratio"]
        if aggregation != Aggregation.PARALLEL:
            del self.fields["claimed_impact"]

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)


class StageMoveForm(_Form):
    direction = forms.ChoiceField(
        choices=[("up", "Up"), ("down", "Down")],
        error_messages={
            "required": "Move a stage up or down.",
            "invalid_choice": "Move a stage up or down.",
        },
    )


class DependencyForm(_Form):
    """A dependency of `kr` on another KR of its cycle, or of another on it (SPEC.md §2:
    the downstream plan's assumption, optionally a value expected by a date)."""

    other_is = forms.ChoiceField(
        label="Direction",
        widget=forms.RadioSelect,
        initial="upstream",
        error_messages={
            "required": "Choose which of the two depends on the other.",
            "invalid_choice": "Choose which of the two depends on the other.",
        },
    )
    other = forms.ModelChoiceField(
        label="Other key result",
        queryset=KeyResult.objects.none(),
        empty_label="Choose a key result",
        error_messages={
            "required": "Choose the other key result.",
            "invalid_choice": "Choose another key result of this cycle.",
        },
    )
    assumption = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the downstream plan assumes of the upstream one.",
        error_messages={
            "required": "Write the assumption the downstream plan rests on.",
            "max_length": "Use at most 2,000 characters.",
        },
    )
    expected_value = NumberFormField(required=False, label="Expected value (optional)")
    expected_by = forms.DateField(
        required=False,
        label="Expected by (optional)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date like 2026-02-15."},
    )

    def __init__(self, *args, kr: KeyResult, **kwargs):
        super().__init__(*args, **kwargs)
        self.kr = kr
        self.fields["other_is"].choices = [
            ("upstream", f"“{kr.title}” depends on it (it is upstream)"),
            ("downstream", f"It depends on “{kr.title}” (it is downstream)"),
        ]
        self.fields["other"].queryset = (
            KeyResult.objects.filter(organization_id=kr.organization_id, cycle_id=kr.cycle_id)
            .exclude(pk=kr.pk)
            .select_related("department", "plan", "cycle")
            .order_by("title", "id")
        )
        self.fields["other"].label_from_instance = lambda o: f"{o.title} · {o.department.name}"

    def service_fields(self) -> dict:
        """The keywords of `dependency_create` (without `org` and `actor`)."""
        data = self.cleaned_data
        other, kr = data["other"], self.kr
        upstream, downstream = (other, kr) if data["other_is"] == "upstream" else (kr, other)
        return {
            "upstream": upstream,
            "downstream": downstream,
            "assumption": data["assumption"],
            "expected_value": data["expected_value"],
            "expected_by": data["expected_by"],
        }
