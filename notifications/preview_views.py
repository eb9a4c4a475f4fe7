"""The plan editor's live impact preview (a fragment of the plan editor)."""

from django.core.exceptions import ValidationError
from django.views.decorators.http import require_POST

from hierarchy.permissions import (
    plan_require_edit,
)
from hierarchy.scope import Scope, org_view
from notifications.alignment_views import SEVERITY_ORDER, _d, _n
from notifications.selectors import plan_preview_of as preview_selector
from okrplan.lib.fragments import fragment_response
from plans.forms import PlanForm, parse_values
from plans.selectors import kr_or_404
from plans.services import validate_plan_values

# --- The plan editor's live impact preview ------------------------------------------


def _preview_figures(
    info: dict, before: dict, after: dict, after_codes: set[str]
) -> list[tuple[str, str, str, str]]:
    """(label, before, after, tone) of the shared KR, from the preview's figures."""
    unit = info["unit"]
    if info["aggregation"] == "parallel":
        short = "bad" if _d(after.get("discounted_claim")) < _d(after.get("needed")) else "ok"
        return [
            ("Raw claim", *[f"{_n(after.get('raw_claim'))} {unit}"] * 2, ""),
            ("Discounted claim", *[f"{_n(after.get('discounted_claim'))} {unit}"] * 2, short),
            ("Needed", *[f"{_n(after.get('needed'))} {unit}"] * 2, ""),
        ]
    total_label = "Implied output" if info["aggregation"] == "sequential" else "Total"
    after_total = after.get("total")
    figures = [
        ("Target", *[f"{_n(info['target'])} {unit}"] * 2, ""),
        (total_label, f"{_n(before.get('total'))} {unit}", f"{_n(after_total)} {unit}", ""),
    ]
    if "gap" in after:
        tone = "bad" if "aggregate_gap" in after_codes else "ok"  # short or over: a check

        def gap(figures: dict) -> str:
            pct = figures.get("gap_pct")
            return f"{_n(figures.get('gap'))} {unit}" + (f" ({pct}%)" if pct is not None else "")

        figures.append(("Gap", gap(before), gap(after), tone))
    return figures


@org_view
@require_POST
def plan_preview_page(request, scope: Scope, kr_id: int):
    """The plan editor's impact fragment: the same computation as the API's
    `POST .../plan/preview/` over the typed values; nothing written."""
    kr = kr_or_404(org=scope.org, pk=kr_id)
    plan_require_edit(scope, kr)
    form = PlanForm.of_post(kr, request.POST)
    context = {"scope": scope, "org": scope.org, "kr": kr}
    template = "plans/plan_editor.html#preview"
    if form.version != kr.plan.version:
        context["preview_error"] = (
            f"The plan was saved by someone else since you opened it (now version "
            f"{kr.plan.version}): reload the page to preview against the current plan."
        )
        return fragment_response(template, context)
    try:
        values = parse_values(kr, form.raw)
        validate_plan_values(kr, values)
    except ValidationError as error:
        context["preview_error"] = f"Fix the values to see the impact. {error.messages[0]}"
        return fragment_response(template, context)
    view = preview_selector(org=scope.org, kr=kr, values=values)
    before_codes = set(view["before"]["checks"])
    after_codes = {c["code"] for c in view["checks"]}
    context.update(
        preview_figures=_preview_figures(
            view["kr"], view["before"], view["aggregate"], after_codes
        ),
        preview_checks=[
            {**c, "new": c["code"] not in before_codes}
            for c in sorted(view["checks"], key=lambda c: SEVERITY_ORDER.get(c["severity"], 9))
        ],
        preview_resolved=sorted(before_codes - after_codes),
        would_notify=view["would_notify"],
        requires_rationale=view["requires_rationale"],
    )
    return fragment_response(template, context)
