"""Forms of the notifications pages: the parent owner's actions on the combined view, a
step's answer, the inbox's way back, and the admin's propagation rules.

They parse what a person typed; the services validate the rest (the same services,
with the same rules, as the API). A service's ValidationError becomes an error on
the field it names (`okrplan.lib.forms.form_add_service_errors`), so nothing is
half-written and the person sees which field to fix.
"""

from django import forms
from django.utils.http import url_has_allowed_host_and_scheme

from hierarchy.models import KeyResult
from notifications.models import Answer, Downward, Upward, WebhookEvent, WebhookFormat
from okrplan.lib.forms import Form, NumberFormField


class NoticeForm(Form):
    """`POST /rounds/{id}/notice/`: one message to every other contributing department,
    optionally with a line for some of them (`department_<id>`)."""

    message = forms.CharField(
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write the impact notice the departments will read."},
    )

    def __init__(self, *args, departments=(), **kwargs):
        """`departments`: (id, name) of the departments the notice goes to."""
        super().__init__(*args, **kwargs)
        for department_id, name in departments:
            self.fields[f"department_{department_id}"] = forms.CharField(
                label=f"Only for {name} (optional)",
                required=False,
                max_length=4000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def department_fields(self):
        return [self[name] for name in self.fields if name.startswith("department_")]

    @property
    def has_department_lines(self) -> bool:
        return any(f.value() or f.errors for f in self.department_fields())

    def department_messages(self) -> dict[int, str]:
        return {
            int(name.removeprefix("department_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("department_") and value
        }


class CloseForm(Form):
    """`POST /rounds/{id}/close/`: what was decided, and optionally a new shared target."""

    note = forms.CharField(
        label="Decision",
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what was decided (it is shared with everyone)."},
    )
    target = NumberFormField(label="New shared target (optional)", required=False)


class TargetForm(Form):
    """PATCH of `target` on the parent: its plan moves to the new target (downward rule)."""

    target = NumberFormField(label="New target")
    rationale = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class StepAnswerForm(Form):
    """`POST /steps/{id}/`: the assignee's answer to a step, with a note (required to
    decline a review; `step_answer` says so)."""

    answer = forms.ChoiceField(
        choices=Answer.choices,
        error_messages={"required": "Choose an answer.", "invalid_choice": "Choose an answer."},
    )
    # as typed (the service strips it and refuses control characters); a longer note
    # is cut, not refused
    note = forms.CharField(required=False, strip=False)

    def clean_note(self) -> str:
        return self.cleaned_data["note"][:NOTE_MAX]


NOTE_MAX = 4000


class BackToInboxForm(Form):
    """The inbox page a plain (no-JS) mark-read form came from (`next`), to go back to."""

    next = forms.CharField(required=False, max_length=2000)

    def target(self, request, inbox: str) -> str:
        """`next` if it is a page of this inbox on this host, else the inbox."""
        target = self.cleaned_data["next"] if self.is_valid() else ""
        if target.startswith(inbox) and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return inbox


class RuleForm(Form):
    """A propagation rule (`PUT .../propagation-rules/`): upward, its threshold, downward.
    A blank threshold is not sent: the stored one stays, like a PUT without it. Its range
    is `rule_set`'s (the API's service)."""

    upward = forms.ChoiceField(
        label="Upward",
        choices=Upward.choices,
        error_messages={
            "required": "Choose when the parent owner is told: never, on every change or "
            "past a threshold.",
            "invalid_choice": "Choose when the parent owner is told: never, on every change "
            "or past a threshold.",
        },
    )
    threshold_pct = NumberFormField(
        label="Threshold",
        required=False,
        help_text="Used with “Notify past a threshold”: above 0 and at most 1000 percent.",
    )
    downward = forms.ChoiceField(
        label="Downward",
        choices=Downward.choices,
        error_messages={
            "required": "Choose what the child owners get: nothing, a notice or a review.",
            "invalid_choice": "Choose what the child owners get: nothing, a notice or a review.",
        },
    )


class OverrideForm(RuleForm):
    """A KR's override (`PUT .../krs/{id}/propagation-rule/`), the KR in the body: any KR
    of the organization (the page offers those with children); another organization's
    answers like a missing one."""

    kr = forms.ModelChoiceField(
        label="Key result",
        queryset=KeyResult.objects.none(),
        error_messages={
            "required": "Choose a key result.",
            "invalid_choice": "That key result does not exist (any more): choose one from "
            "the list.",
        },
    )

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kr"].queryset = scope.queryset(KeyResult)


class WebhookForm(Form):
    """An admin adds a webhook (`notifications.webhooks.webhook_create` checks the URL's
    address and the events again, as for the API)."""

    url = forms.CharField(
        label="Receiver URL",
        max_length=2000,
        error_messages={
            "required": "Give the receiver's URL (https://…).",
            "max_length": "A URL has at most 2,000 characters.",
        },
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one event.",
            "invalid_choice": "Choose the events from the list.",
        },
    )
    format = forms.ChoiceField(
        label="Format",
        choices=WebhookFormat.choices,
        initial=WebhookFormat.JSON,
        required=False,  # none chosen: JSON, as in the API
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose a format from the list."},
    )

    def clean_format(self) -> str:
        return self.cleaned_data["format"] or WebhookFormat.JSON
