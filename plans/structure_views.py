"""The structure page of a KR (`/o/<org>/krs/<id>/structure/`): make it shared.

Its contributions (child KRs, one department's each), how they combine (the aggregation,
with an example of each from SPEC.md §8), the order of a funnel's stages, a stage's
historical ratio, a parallel contribution's claimed impact, and the KR's dependencies.

Who may do what (hierarchy/permissions.py, asked before anything is parsed: 403): the
KR's owner and admins shape it (`structure_can_change`: add and remove contributions,
order the stages, choose the aggregation); a contribution's figures are also its own
editors' (`contribution_can_edit`); its dependencies are registered by the editors of the
downstream KR (`kr_can_edit`, as the API's). Each write is one service, the one the API
calls, so the page refuses what the API refuses, with the message next to the field and
nothing written (400 with the whole page; 200 with the page's region for htmx, which
swaps 2xx answers only). Success: a message and a redirect, or the region for htmx.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hierarchy import services as hierarchy_services
from hierarchy.models import Aggregation, Dependency, KeyResult
from hierarchy.permissions import (
    contribution_can_edit,
    contribution_require_edit,
    kr_can_edit,
    kr_require_create,
    kr_require_edit,
    structure_can_change,
    structure_require_change,
)
from hierarchy.scope import Scope, org_view
from okrplan.lib.forms import form_add_service_errors
from plans import services
from plans.alignment import alignment_build
from plans.checks import num
from plans.selectors import alignment_inputs, kr_get
from plans.structure_forms import (
    AggregationForm,
    ContributionFiguresForm,
    ContributionForm,
    DependencyForm,
    StageMoveForm,
)

# What each aggregation means, in one line, and SPEC.md §8's worked example of it.
AGGREGATIONS = {
    Aggregation.ADDITIVE: (
        "The contributions add up: the shared total is their sum.",
        "“Generate $5M in new pipeline”: Marketing 3,000,000 + Sales 1,500,000 + "
        "Partnerships 500,000 = 5,000,000 USD.",
    ),
    Aggregation.SEQUENTIAL: (
        "The contributions are the stages of a funnel, in order: each stage converts "
        "the one before it, and the last stage's output is the shared result.",
        "“Convert 500 trial users to paid”: Marketing 10,000 visitors → Product 2,000 "
        "trials (ratio 0.20) → Sales 500 paid (ratio 0.25).",
    ),
    Aggregation.PARALLEL: (
        "Each contribution moves the shared metric by its own work: their claimed "
        "impacts, discounted for overlap (factor {overlap}), should cover the change "
        "needed.",
        "“Raise NPS from 32 to 45” (13 points needed): Customer Success claims +8, "
        "Product +7: 15 claimed, {discounted} after the overlap.",
    ),
}


# The figure of a contribution that its row lets one enter, by its parent's aggregation.
FIGURES = {Aggregation.SEQUENTIAL: "historical_ratio", Aggregation.PARALLEL: "claimed_impact"}


def _contribution(scope: Scope, kr_id) -> KeyResult:
    """A KR that contributes to another (the routes of one contribution), or 404."""
    kr = kr_get(org=scope.org, id=kr_id)
    if kr.parent_id is None:
        raise Http404
    kr.parent = kr_get(org=scope.org, id=kr.parent_id)
    return kr


def _aggregations(scope: Scope, current: str) -> list[dict]:
    overlap = scope.org.overlap_factor
    discounted = num(15 * overlap)
    return [
        {
            "value": value,
            "label": label,
            "meaning": AGGREGATIONS[value][0].format(overlap=num(overlap)),
            "example": AGGREGATIONS[value][1].format(discounted=discounted),
            "checked": value == current,
        }
        for value, label in Aggregation.choices
    ]


def _figures(kr: KeyResult, built) -> list[tuple[str, str]]:
    """The shared figures the contributions make (the combined view has them all)."""
    aggregate, unit = built.aggregate, kr.unit
    if kr.aggregation == Aggregation.SEQUENTIAL:
        return [
            ("Target", f"{num(kr.target)} {unit}"),
            ("Implied output", f"{num(aggregate.implied_output)} {unit}"),
        ]
    if kr.aggregation == Aggregation.PARALLEL:
        return [
            ("Needed", f"{num(aggregate.needed)} {unit}"),
            ("Claimed", f"{num(aggregate.raw_claim)} {unit}"),
            ("After overlap", f"{num(aggregate.discounted_claim)} {unit}"),
        ]
    return [("Target", f"{num(kr.target)} {unit}"), ("Sum", f"{num(aggregate.total)} {unit}")]


def _dependency_rows(scope: Scope, kr: KeyResult) -> tuple[list[dict], list[dict]]:
    """(what this KR depends on, what depends on it), each with what the upstream plan
    delivers by the expected date and whether that meets the expectation."""
    rows = (
        scope.queryset(Dependency)
        .filter(Q(upstream=kr) | Q(downstream=kr))
        .select_related(
            "upstream__plan",
            "upstream__cycle",
            "upstream__department",
            "downstream__department",
        )
        .order_by("id")
    )
    upstream, downstream = [], []
    for dependency in rows:
        planned = services.dependency_planned_by(dependency)
        mine = dependency.downstream_id == kr.pk  # this KR's assumption on the other
        row = {
            "d": dependency,
            "other": dependency.upstream if mine else dependency.downstream,
            "expected_n": None
            if dependency.expected_value is None
            else num(dependency.expected_value),
            "planned_n": None if planned is None else num(planned),
            "holds": services.dependency_holds(dependency),
            "can_remove": kr_can_edit(scope, dependency.downstream),
        }
        (upstream if mine else downstream).append(row)
    return upstream, downstream


def _context(scope: Scope, kr: KeyResult, *, forms: dict | None = None, row_errors=None) -> dict:
    """Everything the page shows. `forms`: bound forms with errors ("aggregation",
    "contribution", "dependency"); `row_errors`: {contribution id: {field: [message]}}
    of the forms of one contribution's row (its figures, its move, its removal)."""
    forms = forms or {}
    row_errors = row_errors or {}
    can_shape = structure_can_change(scope, kr)
    can_edit = kr_can_edit(scope, kr)
    built = alignment_build(alignment_inputs(org=scope.org, kr=kr))
    figures = {c.id: c for c in built.children}
    children = list(
        scope.queryset(KeyResult)
        .filter(parent=kr)
        .select_related("department", "owner", "plan")
        .order_by("stage", "id")
    )
    rows = []
    stages = [c.pk for c in children if c.stage is not None]
    for child in children:
        child.parent = kr
        f = figures.get(child.pk)
        errors = row_errors.get(child.pk, {})
        first = bool(stages) and child.pk == stages[0]
        # the first stage converts nothing before it: no ratio to enter (one set is shown)
        can_figures = (
            kr.aggregation in FIGURES
            and contribution_can_edit(scope, child)
            and not (first and child.historical_ratio is None)
        )
        rows.append(
            {
                "kr": child,
                "target_n": num(child.target),
                "ratio_n": num(f.ratio if f else None),
                "implied_n": num(f.implied_target if f else None),
                "plan_status": child.plan.get_status_display(),
                "first": first,
                "last": bool(stages) and child.pk == stages[-1],
                "can_figures": can_figures,
                "figure": _figure(kr, child, errors.get("figures")),
                "has_errors": bool(errors),
                "move_errors": errors.get("move", []),
                "remove_errors": errors.get("remove", []),
            }
        )
    upstream, downstream = _dependency_rows(scope, kr)
    next_stage = max((c.stage or 0 for c in children), default=0) + 1
    contribution_form = dependency_form = None
    if can_shape:
        contribution_form = forms.get("contribution") or ContributionForm(
            parent=kr, auto_id="c-%s", initial={"stage": str(next_stage)}
        )
    if can_edit:
        dependency_form = forms.get("dependency") or DependencyForm(kr=kr, auto_id="d-%s")
    return {
        "scope": scope,
        "org": scope.org,
        "kr": kr,
        "cycle": kr.cycle,
        "target_n": num(kr.target),
        "rows": rows,
        "departments": sorted({c.department.name for c in children}),
        "figures": _figures(kr, built) if children else [],
        "aggregations": _aggregations(scope, _chosen(forms.get("aggregation"), kr)),
        "aggregation_form": forms.get("aggregation"),
        "has_children": bool(children),
        "locked": kr.plan.is_locked,
        "can_shape": can_shape,
        "can_edit": can_edit,
        "contribution_form": contribution_form,
        "dependency_form": dependency_form,
        "upstream": upstream,
        "downstream": downstream,
    }


def _figure(kr: KeyResult, child: KeyResult, form) -> dict | None:
    """A contribution's figure input (a stage's historical ratio, a parallel claimed
    impact): what it holds, or what was posted with the errors."""
    name = FIGURES.get(kr.aggregation)
    if name is None:
        return None
    value = getattr(child, name)
    shown = "" if value is None else num(value)
    errors = []
    if form is not None:
        shown = form.data.get(name, "")[:40]
        errors = [*form.non_field_errors(), *form.errors.get(name, [])]
    return {
        "name": name,
        "id": f"f{child.pk}-{name}",
        "value": shown,
        "errors": errors,
        "current": num(value),
    }


def _chosen(form, kr: KeyResult) -> str:
    """The aggregation the form shows checked: the one posted, if any, else the KR's."""
    posted = form.data.get("aggregation") if form is not None else None
    return posted if posted in Aggregation.values else kr.aggregation


TEMPLATE = "plans/kr_structure.html"


@org_view
@require_GET
def kr_structure(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    return render(request, TEMPLATE, _context(scope, kr))


def _done(request, scope: Scope, kr_id: int, message: str, anchor: str = ""):
    messages.success(request, message)
    if request.htmx:
        return render(
            request, f"{TEMPLATE}#region", _context(scope, kr_get(org=scope.org, id=kr_id))
        )
    return redirect(reverse("kr-structure", args=[scope.org.slug, kr_id]) + anchor)


def _failed(request, scope: Scope, kr_id: int, **errors):
    """The page again with the errors by their fields: the region for htmx (200, so that
    htmx swaps it in), the whole page without JS (400)."""
    context = _context(scope, kr_get(org=scope.org, id=kr_id), **errors)
    if request.htmx:
        return render(request, f"{TEMPLATE}#region", context)
    return render(request, TEMPLATE, context, status=400)


# --- How the contributions combine ----------------------------------------------


@org_view
@require_POST
def kr_aggregation(request, scope: Scope, kr_id: int):
    """Choose the aggregation: `kr_change` with `aggregation`, the API's PATCH (its rule:
    not while the KR has children)."""
    kr = kr_get(org=scope.org, id=kr_id)
    structure_require_change(scope, kr)
    form = AggregationForm(request.POST, auto_id="a-%s")
    if form.is_valid():
        aggregation = form.cleaned_data["aggregation"]
        if aggregation == kr.aggregation:
            return _done(
                request,
                scope,
                kr.pk,
                f"“{kr.title}” is {Aggregation(aggregation).label.lower()} already: "
                "nothing changed.",
            )
        try:
            services.kr_change(kr=kr, actor=request.user, fields={"aggregation": aggregation})
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            label = Aggregation(aggregation).label.lower()
            return _done(
                request, scope, kr.pk, f"“{kr.title}” now combines its contributions: {label}."
            )
    return _failed(request, scope, kr.pk, forms={"aggregation": form})


# --- Contributions --------------------------------------------------------------


@org_view
@require_POST
def kr_contribution_add(request, scope: Scope, kr_id: int):
    """A department's contribution: `kr_create` with `parent`, as the API's POST krs/."""
    kr = kr_get(org=scope.org, id=kr_id)
    structure_require_change(scope, kr)
    form = ContributionForm(request.POST, parent=kr, auto_id="c-%s")
    if form.is_valid():
        fields = form.service_fields()
        kr_require_create(
            scope, department=fields["department"], owner_id=fields["owner"].pk, parent=kr
        )
        try:
            child = hierarchy_services.kr_create(org=scope.org, **fields)
        except ValidationError as error:
            form_add_service_errors(form, error, aliases={"parent": None, "objective": None})
        else:
            return _done(
                request,
                scope,
                kr.pk,
                f"Added “{child.title}” ({child.department.name}, {child.owner.username}) "
                f"to “{kr.title}”.",
                "#contributions",
            )
    return _failed(request, scope, kr.pk, forms={"contribution": form})


def _row_failed(request, scope: Scope, child: KeyResult, errors: dict):
    return _failed(request, scope, child.parent_id, row_errors={child.pk: errors})


@org_view
@require_POST
def kr_contribution_update(request, scope: Scope, kr_id: int):
    """A contribution's historical ratio or claimed impact (`kr_contribution_update`)."""
    child = _contribution(scope, kr_id)
    contribution_require_edit(scope, child)
    form = ContributionFiguresForm(request.POST, contribution=child, auto_id=f"f{child.pk}-%s")
    if not form.fields:
        form.add_error(None, "Only stages and parallel contributions have these figures.")
    elif form.is_valid():
        try:
            hierarchy_services.kr_contribution_update(
                kr=child, actor=request.user, **form.service_fields()
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            what = " and ".join(
                f"{form.fields[name].label.lower()} "
                f"{num(value) if value is not None else 'cleared'}"
                for name, value in form.cleaned_data.items()
            )
            return _done(
                request, scope, child.parent_id, f"“{child.title}”: {what}.", "#contributions"
            )
    return _row_failed(request, scope, child, {"figures": form})


@org_view
@require_POST
def kr_stage_move(request, scope: Scope, kr_id: int):
    """Move a funnel stage up or down (`kr_stage_move`: swaps two stage numbers)."""
    child = _contribution(scope, kr_id)
    structure_require_change(scope, child.parent)
    form = StageMoveForm(request.POST)
    if form.is_valid():
        try:
            moved = hierarchy_services.kr_stage_move(
                kr=child, direction=form.cleaned_data["direction"], actor=request.user
            )
        except ValidationError as error:
            form_add_service_errors(form, error, aliases={"stage": "direction"})
        else:
            return _done(
                request,
                scope,
                child.parent_id,
                f"“{child.title}” is stage {moved.stage} now.",
                "#contributions",
            )
    errors = {"move": [m for messages_ in form.errors.values() for m in messages_]}
    return _row_failed(request, scope, child, errors)


@org_view
@require_POST
def kr_contribution_remove(request, scope: Scope, kr_id: int):
    """Remove a contribution (`kr_delete`): only one with no plan history or check-ins;
    a locked parent keeps a contribution whose removal would move its figures (the plans
    app's guard: docs/decisions.md, issue 13 item 6)."""
    child = _contribution(scope, kr_id)
    parent = child.parent
    structure_require_change(scope, parent)
    try:
        hierarchy_services.kr_delete(kr=child)
    except ValidationError as error:
        child.pk = kr_id  # a refusal after the row's delete rolled it back (the delete forgot it)
        errors = {"remove": [m for messages_ in error.message_dict.values() for m in messages_]}
        return _row_failed(request, scope, child, errors)
    return _done(
        request,
        scope,
        parent.pk,
        f"Removed “{child.title}” ({child.department.name}) from “{parent.title}”.",
        "#contributions",
    )


# --- Dependencies ---------------------------------------------------------------


@org_view
@require_POST
def kr_dependency_add(request, scope: Scope, kr_id: int):
    """Register a dependency of this KR (or on it): `dependency_create`, as the API's
    POST dependencies/. The KR's editors use the form; the dependency is the downstream
    KR's assumption, so its editors register it (the service asks them)."""
    kr = kr_get(org=scope.org, id=kr_id)
    kr_require_edit(scope, kr)
    form = DependencyForm(request.POST, kr=kr, auto_id="d-%s")
    if form.is_valid():
        fields = form.service_fields()
        try:
            hierarchy_services.dependency_create(org=scope.org, actor=request.user, **fields)
        except PermissionDenied:
            downstream = fields["downstream"]
            form.add_error(
                "other",
                f"Only the owner of “{downstream.title}”, its department's lead or an admin "
                "may register what it assumes: ask them, or choose the other direction.",
            )
        except ValidationError as error:
            form_add_service_errors(
                form, error, aliases={"downstream": "other", "upstream": "other"}
            )
        else:
            upstream, downstream = fields["upstream"], fields["downstream"]
            return _done(
                request,
                scope,
                kr.pk,
                f"Registered: “{downstream.title}” depends on “{upstream.title}”.",
                "#dependencies",
            )
    return _failed(request, scope, kr.pk, forms={"dependency": form})


@org_view
@require_POST
def kr_dependency_remove(request, scope: Scope, kr_id: int, dependency_id: int):
    """Remove one of this KR's dependencies: the downstream KR's editors (the API's)."""
    kr = kr_get(org=scope.org, id=kr_id)
    dependency = scope.get(
        Dependency.objects.select_related("upstream", "downstream__department"), dependency_id
    )
    if kr.pk not in (dependency.upstream_id, dependency.downstream_id):
        raise Http404
    kr_require_edit(scope, dependency.downstream)
    hierarchy_services.dependency_delete(dependency=dependency)
    return _done(
        request,
        scope,
        kr.pk,
        f"Removed the dependency of “{dependency.downstream.title}” on "
        f"“{dependency.upstream.title}”.",
        "#dependencies",
    )
