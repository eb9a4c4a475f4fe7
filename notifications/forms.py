"""Forms of the parent owner's actions on the combined view.

They parse what a person typed; the services validate the rest (the same services,
with the same rules, as the API). A service's ValidationError becomes an error on
the field it names (`okrplan.lib.forms.form_add_service_errors`), so nothing is
half-written and the person sees which field to fix.
"""

from django import forms
from django.utils.http import url_has_allowed_host_and_scheme

from notifications.models import Answer
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
