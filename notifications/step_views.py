"""A step's page: what it asks, and its assignee's answer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format

from hierarchy.models import Granularity
from hierarchy.scope import Scope, org_view
from notifications.forms import StepAnswerForm
from notifications.models import (
    Answer,
    Step,
    StepKind,
    StepState,
)
from notifications.services import (
    step_answer,
)
from okrplan.lib.forms import form_add_service_errors

# --- Answering a step (a protocol step or a review request) --------------------------

ANSWERS = {
    StepKind.CASCADE_REVIEW: [
        (Answer.ACCEPT, "Accept", "apply the proposed plan to my key result"),
        (Answer.DECLINE, "Decline", "keep my plan; the note saying why is required"),
    ],
    **{
        kind: [
            (Answer.NO_CHANGE, "No change", "my plan stands as it is"),
            (Answer.MODIFIED, "Modified", "I have changed my plan in the plan editor"),
        ]
        for kind in (StepKind.ASSESS, StepKind.DOWNWARD_REVIEW, StepKind.DEPENDENCY_REVIEW)
    },
}


def step_title(step: Step) -> str:
    """A step's name, told apart from the same step of another period: a check-in names
    its period ("Check in for Aug 2026"; a week by its cycle and dates too). My work's
    rows and links, and the step page, say this."""
    label = StepKind(step.kind).label
    cycle = step.kr.cycle
    periods = cycle.periods
    if step.kind == StepKind.CHECKIN and step.period is not None and step.period < len(periods):
        period = periods[step.period]
        if cycle.granularity == Granularity.WEEK:
            days = f"{date_format(period.start, 'j M')} \u2013 {date_format(period.end, 'j M Y')}"
            return f"{label} for {period.label} of {cycle.name} ({days})"
        return f"{label} for {period.label}"
    return label


def step_queryset(scope: Scope):
    """Steps of the organization with what the step page and My work show."""
    return Step.objects.filter(organization=scope.org).select_related(
        "assignee", "kr__cycle", "kr__plan", "kr__parent", "source_kr", "round__parent_kr"
    )


def _step_context(scope: Scope, step: Step, form: StepAnswerForm) -> dict:
    kr = step.kr
    periods = kr.cycle.periods
    current = kr.plan.values
    proposed = step.proposed_values
    rows = [
        {
            "label": p.label,
            "current": current[p.index] if p.index < len(current) else None,
            "proposed": proposed[p.index] if proposed and p.index < len(proposed) else None,
        }
        for p in periods
    ]
    is_open = step.state == StepState.OPEN
    answers = ANSWERS.get(step.kind, [])
    return {
        "scope": scope,
        "org": scope.org,
        "step": step,
        "kr": kr,
        "kind_label": step_title(step),
        "overdue": is_open and step.due_at < timezone.now(),
        "rows": rows,
        "answers": answers,
        "is_mine": step.assignee_id == scope.membership.user_id,
        "can_answer": bool(answers)
        and is_open
        and scope.can_write
        and step.assignee_id == scope.membership.user_id,
        "form": form,
    }


@org_view
def step_page(request, scope: Scope, step_id: int):
    """A step: what it asks, for which KR and round, by when; the assignee answers it
    here through `step_answer` (the service behind `POST .../steps/{id}/answer/`)."""
    step = scope.get(step_queryset(scope), step_id)
    if request.method == "GET":
        context = _step_context(scope, step, StepAnswerForm(auto_id="%s"))
        return render(request, "notifications/step.html", context)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    scope.require_writer()
    if step.assignee_id != request.user.pk:
        raise PermissionDenied("Only the person this step is assigned to may answer it.")
    form = StepAnswerForm(request.POST, auto_id="%s")
    if form.is_valid():
        answer = form.cleaned_data["answer"]
        try:
            step_answer(
                step=step, actor=request.user, answer=answer, note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Answered “{Answer(answer).label}”. Thank you.")
            return redirect("step", scope.org.slug, step.pk)
    return render(request, "notifications/step.html", _step_context(scope, step, form), status=400)
