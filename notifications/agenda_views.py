"""The alignment meeting agenda of a shared KR."""

from dataclasses import asdict
from decimal import Decimal

from django.shortcuts import render
from django.views.decorators.http import require_GET

from hierarchy.scope import Scope, org_view
from notifications.alignment_views import alignment_context
from notifications.selectors import (
    agenda_facts,
    rule_for,
)
from okrplan.lib.numbers import num
from plans.selectors import kr_get
from plans.shapes import centroid

# --- The alignment meeting agenda --------------------------------------------------

# The seed article's agenda (seeds/cross-functional-plan-alignment.txt, "The
# Cross-Functional Alignment Meeting"): five time-boxed items; the second gives each
# contributing department two minutes.
MINUTES_PER_DEPARTMENT = 2
VALIDATE_QUESTION = {
    "additive": "Do the contributions sum to the target?",
    "sequential": "Are the funnel ratios consistent (and close to history)?",
    "parallel": "Is the combined impact plausible, once overlap is discounted?",
}


def _distribution(c: Decimal | None) -> str:
    """The distribution shape in words, from the plan's centroid (SPEC.md §4)."""
    if c is None:
        return "not planned yet"
    if c < Decimal("0.45"):
        return "front-loaded"
    if c > Decimal("0.55"):
        return "back-loaded"
    return "even"


@org_view
@require_GET
def kr_agenda(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    context = alignment_context(scope, kr, actions=False)
    facts = agenda_facts(org=scope.org, kr=kr, children=context["children"])
    departments: dict[int, dict] = {}
    for child in context["children"]:
        department = departments.setdefault(
            child.department,
            {
                "name": child.department_name,
                "lead": facts["leads"].get(child.department, ""),
                "krs": [],
            },
        )
        department["krs"].append(
            {
                **asdict(child),
                "distribution": _distribution(child.centroid),
                "assumptions": facts["assumptions"].get(child.id, []),
            }
        )
    rule = rule_for(org=scope.org, kr=kr)
    minutes = [5, MINUTES_PER_DEPARTMENT * len(departments), 10, 5, 2]
    parent_centroid = centroid(kr.plan.values)
    return render(
        request,
        "notifications/agenda.html",
        {
            **context,
            "cycle": kr.cycle,
            "departments": list(departments.values()),
            "minutes": minutes,
            "total_minutes": sum(minutes),
            "question": VALIDATE_QUESTION.get(kr.aggregation, ""),
            "parent_distribution": _distribution(parent_centroid),
            "rule": rule,
            "threshold_n": num(rule.threshold_pct),
            "hours": [
                num(scope.org.notify_hours),
                num(scope.org.assess_hours),
                num(scope.org.close_hours),
            ],
        },
    )
