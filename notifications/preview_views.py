"""The plan editor's live impact preview (a fragment of the plan editor)."""

from dataclasses import asdict

from django.core.exceptions import ValidationError
from django.views.decorators.http import require_POST

from hierarchy.permissions import (
    plan_require_edit,
)
from hierarchy.scope import Scope, org_view
from notifications.alignment_views import checks_by_severity
from notifications.selectors import Preview
from notifications.selectors import plan_preview_of as preview_selector
from okrplan.lib.fragments import fragment_response
from okrplan.lib.numbers import fmt, num
from plans.alignment import Aggregate
from plans.checks import check_label
from plans.forms import PlanForm
from plans.selectors import kr_get

# --- The plan editor's live impact preview ------------------------------------------


def _preview_figures(view: Preview, after_codes: set[str]) -> list[tuple[str, str, str, str]]:
    """(label, before, after, tone) of the shared KR, from the preview's figures."""
    kr, before, after = view.kr, view.before.aggregate, view.alignment.aggregate
    unit = kr.unit
    if kr.aggregation == "parallel":
        short = "bad" if (after.discounted_claim or 0) < (after.needed or 0) else "ok"
        return [
            ("Raw claim", *[f"{num(after.raw_claim)} {unit}"] * 2, ""),
            ("Discounted claim", *[f"{num(after.discounted_claim)} {unit}"] * 2, short),
            ("Needed", *[f"{num(after.needed)} {unit}"] * 2, ""),
        ]
    total_label = "Implied output" if kr.aggregation == "sequential" else "Total"
    figures = [
        ("Target", *[f"{num(view.inputs.target)} {unit}"] * 2, ""),
        (total_label, f"{num(before.total)} {unit}", f"{num(after.total)} {unit}", ""),
    ]
    if after.gap is not None:
        tone = "bad" if "aggregate_gap" in after_codes else "ok"  # short or over: a check

        def gap(figures: Aggregate) -> str:
            pct = figures.gap_pct
            return f"{num(figures.gap)} {unit}" + (f" ({fmt(pct, 2)}%)" if pct is not None else "")

        figures.append(("Gap", gap(before), gap(after), tone))
    return figures


@org_view
@require_POST
def plan_preview_page(request, scope: Scope, kr_id: int):
    """The plan editor's impact fragment: the same computation as the API's
    `POST .../plan/preview/` over the typed values; nothing written."""
    kr = kr_get(org=scope.org, id=kr_id)
    plan_require_edit(scope, kr)
    # the shape fieldset asks with action=shape: the preset's plan for its target; the
    # period inputs without: the values typed. Either way what that button saves.
    form = PlanForm.of_post(kr, request.POST, action=request.POST.get("action"))
    context = {"scope": scope, "org": scope.org, "kr": kr}
    template = "plans/plan_editor.html#preview"
    if form.version != kr.plan.version:
        context["preview_error"] = (
            f"The plan was saved by someone else since you opened it (now version "
            f"{kr.plan.version}): reload the page to preview against the current plan."
        )
        return fragment_response(template, context)
    try:
        change = form.change()
    except ValidationError as error:
        what = "preset" if form.action == "shape" else "values"
        context["preview_error"] = f"Fix the {what} to see the impact. {error.messages[0]}"
        return fragment_response(template, context)
    view = preview_selector(org=scope.org, kr=kr, values=change.values, actor_id=request.user.pk)
    before_codes = {c.code for c in view.before.checks}
    after_codes = {c.code for c in view.alignment.checks}
    context.update(
        preview_figures=_preview_figures(view, after_codes),
        preview_checks=[
            {**asdict(c), "new": c.code not in before_codes}
            for c in checks_by_severity(view.alignment.checks)
        ],
        preview_resolved=[check_label(code) for code in sorted(before_codes - after_codes)],
        would_notify=view.would_notify,
        requires_rationale=view.requires_rationale,
        preview_of=form.preview_of,
    )
    return fragment_response(template, context)
