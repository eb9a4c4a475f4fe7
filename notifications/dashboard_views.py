"""The organization's dashboard page (`/o/{org}/dashboard/`): notifications/dashboard.py
reads it; every member of the organization may open it."""

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from hierarchy.scope import Scope, org_view
from notifications.dashboard import dashboard_cycle, dashboard_cycles, dashboard_get
from notifications.models import StepKind, StepState
from okrplan.lib.forms import Form


class DashboardForm(Form):
    """`?cycle=<id>`: the cycle to show (default: the current one)."""

    cycle = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose one of the cycles of the list."},
    )

    def __init__(self, *args, cycles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cycle"].choices = [(c.pk, c.name) for c in cycles]


def _round_row(r, now) -> dict:
    """An open round with the step it waits for (the open one due first)."""
    waiting = next((s for s in r.steps.all() if s.state == StepState.OPEN), None)
    return {
        "round": r,
        "waiting": waiting,
        "waiting_label": StepKind(waiting.kind).label if waiting else "",
        "overdue": waiting is not None and waiting.due_at < now,
    }


@org_view
@require_GET
def org_dashboard(request, scope: Scope):
    cycles = dashboard_cycles(org=scope.org)
    form = DashboardForm(request.GET or None, cycles=cycles)
    if request.GET and not form.is_valid():
        cycle, status = None, 400
    else:
        chosen = form.cleaned_data.get("cycle") if request.GET else None
        cycle, status = dashboard_cycle(cycles, chosen), 200
    board = dashboard_get(org=scope.org, cycle=cycle)
    now = timezone.now()
    periods = {p.index: p.label for p in cycle.periods} if cycle else {}
    return render(
        request,
        "notifications/dashboard.html",
        {
            "scope": scope,
            "org": scope.org,
            "form": form,
            "cycles": cycles,
            "board": board,
            "cycle": cycle,
            "rounds": [_round_row(r, now) for r in board.rounds.items],
            "overdue": [{"step": s, "label": StepKind(s.kind).label} for s in board.overdue.items],
            "missed": [
                {"step": s, "period": periods.get(s.period, "")} for s in board.missed.items
            ],
        },
        status=status,
    )
