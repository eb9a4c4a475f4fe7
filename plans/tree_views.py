"""Writing objectives and key results where they are read: the cycle tree's forms and
row actions (issue 14 item 3).

Each form is a GET that shows it (the whole tree with the form open in its place, or,
for htmx, the form alone, swapped in where the link was) and a POST that parses what was
typed with the API's own input serializer, calls the API's service and answers like the
admin pages: a plain POST redirects back to the tree (post/redirect/get) with a message,
or re-renders the tree with the form open and the errors next to their fields (400, 403
or 409, nothing written); an htmx POST answers the tree's region (retargeted there) on
success, or the form with its errors (200, so that htmx swaps it in). Row actions (move,
archive, restore) answer the tree's region for htmx and redirect otherwise.

Who may do what is hierarchy/permissions.py's, asked before anything is parsed (403),
and again by the services.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget
from rest_framework.exceptions import ValidationError as DrfValidationError

from hierarchy import services as hierarchy_services
from hierarchy.models import Cycle, Department, KeyResult, MetricKind, Objective
from hierarchy.permissions import (
    kr_require_archive,
    kr_require_create,
    kr_require_edit,
    kr_require_move,
    objective_require_create,
    objective_require_edit,
    target_can_change,
    target_require_change,
)
from hierarchy.scope import Scope, org_view
from okrplan.lib.errors import StaleVersion
from okrplan.lib.forms import NON_FIELD, form_data, form_errors, validated
from plans import services
from plans.apis import KrDetailApi, KrInputSerializer, ObjectiveDetailApi, ObjectiveInputSerializer
from plans.checks import num
from plans.forms import KrNumbersForm, TreeFilterForm
from plans.selectors import kr_get
from plans.views import tree_form_choices, tree_render

INVALID = (DrfValidationError, DjangoValidationError)
FILTERS = tuple(TreeFilterForm.base_fields)
OBJECTIVE_FIELDS = ["title", "owner", "department"]
KR_FIELDS = [
    "title",
    "owner",
    "department",
    "unit",
    "decimals",
    "metric_kind",
    "start_value",
    "target",
]
NUMBERS = ("start_value", "target")


# --- Where a form comes from and goes back to ------------------------------------


def _back(request) -> QueryDict:
    """The tree's filters the request came from: a form's hidden `back`, or the query."""
    raw = request.POST.get("back", "") if request.method == "POST" else request.GET.urlencode()
    return QueryDict(raw[:1000])


def _query(back: QueryDict) -> str:
    return urlencode({name: back[name][:200] for name in FILTERS if back.get(name)})


def _tree_url(cycle: Cycle, back: QueryDict, anchor: str = "") -> str:
    query = _query(back)
    url = reverse("cycle-tree", args=[cycle.organization.slug, cycle.pk])
    return url + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


def _done(request, scope: Scope, cycle: Cycle, message: str, anchor: str, *, notes=None):
    """A write succeeded: the tree again (htmx: its region, retargeted), with `message`."""
    back = _back(request)
    if request.htmx:
        response = tree_render(
            request, scope, cycle, params=back, notice=message, notes=notes, fragment="tree"
        )
        return retarget(reswap(response, "outerHTML"), "#tree")
    messages.success(request, message)
    return redirect(_tree_url(cycle, back, anchor))


def _refused(request, scope: Scope, cycle: Cycle, notes: dict):
    """A row action was refused: the tree with the reason at the row (400; htmx: 200)."""
    status = 200 if request.htmx else 400
    fragment = "tree" if request.htmx else None
    return tree_render(
        request, scope, cycle, params=_back(request), notes=notes, status=status, fragment=fragment
    )


# The fields each form shows: an error about another one (the objective, a structural
# rule) is shown above the form.
SHOWN = {
    "objective-new": OBJECTIVE_FIELDS,
    "objective-edit": OBJECTIVE_FIELDS,
    "kr-new": KR_FIELDS,
    "kr-edit": [*KR_FIELDS, "rationale"],
}
FRAGMENTS = {
    "objective-new": "objective-form",
    "objective-edit": "objective-form",
    "kr-new": "kr-new-form",
    "kr-edit": "kr-edit-form",
}


def _form_page(request, scope: Scope, cycle: Cycle, form: dict, *, status: int = 200):
    """The form: alone for htmx (200 even with errors, so htmx swaps it in), else the
    tree with the form open in its place."""
    back = _back(request)
    form["back"] = _query(back)
    form["cancel"] = _tree_url(cycle, back, form["anchor"])
    shown = SHOWN[form["kind"]]
    if form.get("kind") == "kr-edit" and not (form["locked"] or "rationale" in form["errors"]):
        shown = KR_FIELDS
    form["general"] = [
        message
        for name, messages_ in form["errors"].items()
        if name not in shown
        for message in messages_
    ]
    about = form.get("objective") or form.get("kr")
    if about is not None and about.archived_at is not None and not back.get("archived"):
        back = back.copy()
        back["archived"] = "1"  # the form's place in the tree is among the archived
    if request.htmx:
        context = {
            "scope": scope,
            "org": scope.org,
            "cycle": cycle,
            "form": form,
            "query": form["back"],
            **tree_form_choices(scope),
        }
        return render(request, f"plans/cycle_tree.html#{FRAGMENTS[form['kind']]}", context)
    return tree_render(request, scope, cycle, params=back, form=form, status=status)


def _numbers(values: dict, errors: dict) -> dict:
    """The numbers as people type them ("5,000,000"), through the one parser
    (`KrNumbersForm`), in the API's notation for its serializer; a bad one is an error
    next to its field."""
    typed = {name: values[name] for name in NUMBERS if values.get(name)}
    data, number_errors = KrNumbersForm(typed).api_data(values)
    errors.update(number_errors)
    return data


# --- Objectives ---------------------------------------------------------------------


def _objective_form(kind: str, *, scope: Scope, cycle: Cycle, objective=None, values=None):
    if objective is not None:
        shown = {
            "title": objective.title,
            "owner": objective.owner.username,
            "department": str(objective.department_id or ""),
        }
        action = reverse("objective-edit", args=[scope.org.slug, objective.pk])
        anchor = slot = f"objective-{objective.pk}-head"
    else:
        shown = {"title": "", "owner": scope.user.username, "department": ""}
        action = reverse("objective-create", args=[scope.org.slug, cycle.pk])
        anchor = slot = "objective-add"
    return {
        "kind": kind,
        "id": objective.pk if objective is not None else None,
        "objective": objective,
        "values": {**shown, **(values or {})},
        "errors": {},
        "action": action,
        "slot": slot,
        "anchor": anchor,
    }


@org_view
@require_http_methods(["GET", "POST"])
def objective_create(request, scope: Scope, cycle_id: int):
    """Add an objective to a cycle (`POST /objectives/`'s input and service)."""
    cycle = scope.get(Cycle, cycle_id)
    objective_require_create(scope)
    form = _objective_form("objective-new", scope=scope, cycle=cycle)
    if request.method == "GET":
        return _form_page(request, scope, cycle, form)
    values = form_data(request.POST, OBJECTIVE_FIELDS, optional=("department", "owner"))
    form["values"].update({k: v or "" for k, v in values.items()})
    data = {k: v for k, v in values.items() if not (k == "owner" and v is None)}
    try:
        fields = validated(
            ObjectiveInputSerializer(data={**data, "cycle": cycle.pk}, context={"org": scope.org})
        )
        fields.setdefault("owner", request.user)
        objective = hierarchy_services.objective_create(org=scope.org, **fields)
    except INVALID as error:
        form["errors"] = form_errors(error)
        return _form_page(request, scope, cycle, form, status=400)
    return _done(
        request,
        scope,
        cycle,
        f"Added the objective “{objective.title}”.",
        f"objective-{objective.pk}",
    )


def _objective(scope: Scope, objective_id: int) -> Objective:
    return scope.get(
        Objective.objects.select_related("cycle__organization", "owner", "department"),
        objective_id,
    )


@org_view
@require_http_methods(["GET", "POST"])
def objective_edit(request, scope: Scope, objective_id: int):
    """Change an objective's title, owner or department (`PATCH /objectives/{id}/`)."""
    objective = _objective(scope, objective_id)
    objective_require_edit(scope, objective)
    cycle = objective.cycle
    form = _objective_form("objective-edit", scope=scope, cycle=cycle, objective=objective)
    if request.method == "GET":
        return _form_page(request, scope, cycle, form)
    values = form_data(request.POST, OBJECTIVE_FIELDS, optional=("department",))
    form["values"].update({k: v or "" for k, v in values.items()})
    try:
        data = validated(
            ObjectiveDetailApi.PatchSerializer(data=values, context={"org": scope.org})
        )
        changed = {k: v for k, v in data.items() if v != getattr(objective, k)}
        if changed:
            hierarchy_services.objective_update(objective=objective, **changed)
    except INVALID as error:
        objective.refresh_from_db()
        form["errors"] = form_errors(error)
        return _form_page(request, scope, cycle, form, status=400)
    return _done(request, scope, cycle, f"Saved the objective “{objective.title}”.", form["anchor"])


def _direction(request) -> str:
    return request.POST.get("direction", "")[:10]


@org_view
@require_POST
def objective_move(request, scope: Scope, objective_id: int):
    objective = _objective(scope, objective_id)
    objective_require_edit(scope, objective)
    direction = _direction(request)
    key = ("objective", objective.pk)
    try:
        moved = hierarchy_services.objective_move(
            objective=objective, direction=direction, actor=request.user
        )
    except DjangoValidationError as error:
        return _refused(request, scope, objective.cycle, {key: {"errors": error.messages}})
    where = "first" if direction == "up" else "last"
    message = (
        f"Moved “{objective.title}” {direction}."
        if moved
        else f"“{objective.title}” is {where} already."
    )
    notes = {key: {"focus": direction}}
    anchor = f"objective-{objective.pk}"
    return _done(request, scope, objective.cycle, message, anchor, notes=notes)


@org_view
@require_POST
def objective_archive(request, scope: Scope, objective_id: int):
    """Archive an objective with its key results (docs/decisions.md, issue 14 item 3)."""
    objective = _objective(scope, objective_id)
    objective_require_edit(scope, objective)
    key = ("objective", objective.pk)
    was_archived = objective.archived_at is not None
    try:
        ids = hierarchy_services.objective_archive(objective=objective, actor=request.user)
    except DjangoValidationError as error:
        return _refused(request, scope, objective.cycle, {key: {"errors": error.messages}})
    if was_archived:
        message = f"“{objective.title}” is archived already."
    else:
        message = (
            f"Archived the objective “{objective.title}”{_with_krs(ids)}. “Show archived” "
            "lists it, to restore it."
        )
    return _done(request, scope, objective.cycle, message, "tree")


@org_view
@require_POST
def objective_restore(request, scope: Scope, objective_id: int):
    objective = _objective(scope, objective_id)
    objective_require_edit(scope, objective)
    key = ("objective", objective.pk)
    was_archived = objective.archived_at is not None
    try:
        ids = hierarchy_services.objective_restore(objective=objective, actor=request.user)
    except DjangoValidationError as error:
        return _refused(request, scope, objective.cycle, {key: {"errors": error.messages}})
    message = (
        f"Restored the objective “{objective.title}”" + _with_krs(ids) + "."
        if was_archived
        else f"“{objective.title}” is not archived."
    )
    return _done(request, scope, objective.cycle, message, f"objective-{objective.pk}")


def _with_krs(ids: list[int]) -> str:
    if not ids:
        return ""
    return f" and its {len(ids)} key result{'s' if len(ids) != 1 else ''}"


# --- Key results --------------------------------------------------------------------


def _kr_new_form(scope: Scope, objective: Objective, values=None) -> dict:
    department = objective.department_id or (
        scope.queryset(Department)
        .filter(lead_id=scope.membership.user_id)
        .order_by("name")
        .values_list("pk", flat=True)
        .first()
    )
    return {
        "kind": "kr-new",
        "id": objective.pk,
        "objective": objective,
        "values": {
            "title": "",
            "owner": scope.user.username,
            "department": str(department or ""),
            "unit": "",
            "decimals": "",
            "metric_kind": MetricKind.CUMULATIVE,
            "start_value": "0",
            "target": "",
            **(values or {}),
        },
        "errors": {},
        "action": reverse("kr-create", args=[scope.org.slug, objective.pk]),
        "slot": f"objective-{objective.pk}-add",
        "anchor": f"objective-{objective.pk}-add",
    }


@org_view
@require_http_methods(["GET", "POST"])
def kr_create(request, scope: Scope, objective_id: int):
    """Add a key result to an objective (`POST /krs/`'s input, permission and service):
    it starts with a draft plan of zeros, planned next in its plan editor."""
    objective = _objective(scope, objective_id)
    scope.require_writer()
    cycle = objective.cycle
    form = _kr_new_form(scope, objective)
    if request.method == "GET":
        return _form_page(request, scope, cycle, form)
    values = form_data(request.POST, KR_FIELDS, optional=("decimals", "start_value"))
    form["values"].update({k: v or "" for k, v in values.items()})
    errors: dict = {}
    # a blank optional field is not sent (decimals from the unit, a start value of 0)
    data = {k: v for k, v in _numbers(values, errors).items() if v is not None}
    status = 400
    try:
        if errors:
            raise DjangoValidationError(errors)
        fields = validated(
            KrInputSerializer(data={**data, "objective": objective.pk}, context={"org": scope.org})
        )
        fields = {k: v for k, v in fields.items() if v is not None}
        try:
            kr_require_create(
                scope, department=fields["department"], owner_id=fields["owner"].pk, parent=None
            )
        except PermissionDenied as refusal:
            status = 403
            raise DjangoValidationError({"owner": [str(refusal)]}) from None
        kr = hierarchy_services.kr_create(org=scope.org, **fields)
    except INVALID as error:
        form["errors"] = form_errors(error)
        return _form_page(request, scope, cycle, form, status=status)
    return _done(
        request,
        scope,
        cycle,
        f"Added “{kr.title}” to “{objective.title}”: its plan is zeros until it is planned "
        "in its plan editor.",
        f"kr-{kr.pk}",
    )


def _kr_edit_form(scope: Scope, kr: KeyResult) -> dict:
    plan = kr.plan
    has_children = KeyResult.objects.filter(organization=scope.org, parent=kr).exists()
    fixed = services.kr_measure_fixed(kr=kr, plan=plan, has_children=has_children)
    target_fixed = None
    if not target_can_change(scope, kr):
        try:
            target_require_change(scope, kr)
        except PermissionDenied as refusal:
            target_fixed = str(refusal)
    return {
        "kind": "kr-edit",
        "id": kr.pk,
        "kr": kr,
        "values": {
            "title": kr.title,
            "owner": kr.owner.username,
            "department": str(kr.department_id),
            "unit": kr.unit,
            "decimals": str(kr.decimals),
            "metric_kind": kr.metric_kind,
            "start_value": num(kr.start_value),
            "target": num(kr.target),
            "rationale": "",
            "version": str(plan.version),
        },
        "errors": {},
        "measure_fixed": fixed,
        "target_fixed": target_fixed,
        "locked": plan.is_locked,
        "action": reverse("kr-edit", args=[scope.org.slug, kr.pk]),
        "slot": f"kr-{kr.pk}",
        "anchor": f"kr-{kr.pk}",
    }


def _changed(kr: KeyResult, data: dict) -> dict:
    """The fields whose value differs from the KR's (people post the whole form)."""
    changed = {}
    for name, value in data.items():
        current = getattr(kr, name)
        if hasattr(current, "pk"):
            if value.pk != current.pk:
                changed[name] = value
        elif value != current:
            changed[name] = value
    return changed


@org_view
@require_http_methods(["GET", "POST"])
def kr_edit(request, scope: Scope, kr_id: int):
    """Change a key result (`PATCH /krs/{id}/`: its input, permissions and `kr_change`).
    A new target moves its plan (the downward rule on a parent; a rationale on a locked
    plan); what it measures is fixed once something is measured in it."""
    kr = kr_get(org=scope.org, id=kr_id)
    kr_require_edit(scope, kr)
    cycle = kr.cycle
    form = _kr_edit_form(scope, kr)
    if request.method == "GET":
        return _form_page(request, scope, cycle, form)
    # A field the form shows disabled (what it measures, once fixed; the target, when it
    # is the parent owner's) is not posted, so it does not change; sent anyway, the
    # service refuses it as the API does.
    values = form_data(request.POST, [*KR_FIELDS, "rationale", "version"])
    form["values"].update(values)
    errors: dict = {}
    data = _numbers(values, errors)
    status = 400
    try:
        if errors:
            raise DjangoValidationError(errors)
        fields = validated(KrDetailApi.PatchSerializer(data=data, context={"org": scope.org}))
        target = fields.pop("target", None)
        rationale = fields.pop("rationale", None) or None
        version = fields.pop("version", None)
        changed = _changed(kr, fields)
        new_target = target is not None and target != kr.target
        services.kr_change(
            kr=kr,
            actor=request.user,
            fields=changed,
            target=target if new_target else None,
            rationale=rationale,
            version=version,
        )
    except StaleVersion as stale:
        form["errors"] = {
            NON_FIELD: [
                f"The plan of “{kr.title}” changed while you were editing (it is at version "
                f"{stale.current_version} now): nothing was saved. Cancel to see it, then "
                "make your change again."
            ]
        }
        return _form_page(request, scope, cycle, form, status=409)
    except INVALID as error:
        form["errors"] = form_errors(error)
        return _form_page(request, scope, cycle, form, status=status)
    kr = kr_get(org=scope.org, id=kr.pk)
    message = f"Saved “{kr.title}”."
    if new_target:
        message += (
            f" Its plan now adds up to the new target, {num(kr.target)} {kr.unit} "
            f"(version {kr.plan.version})."
        )
    return _done(request, scope, cycle, message, f"kr-{kr.pk}")


@org_view
@require_POST
def kr_move(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    kr_require_move(scope, kr)
    direction = _direction(request)
    key = ("kr", kr.pk)
    try:
        moved = hierarchy_services.kr_move(kr=kr, direction=direction, actor=request.user)
    except DjangoValidationError as error:
        return _refused(request, scope, kr.cycle, {key: {"errors": error.messages}})
    where = "first" if direction == "up" else "last"
    message = f"Moved “{kr.title}” {direction}." if moved else f"“{kr.title}” is {where} already."
    return _done(
        request, scope, kr.cycle, message, f"kr-{kr.pk}", notes={key: {"focus": direction}}
    )


def _has_children(kr: KeyResult) -> bool:
    return KeyResult.objects.filter(organization_id=kr.organization_id, parent=kr).exists()


@org_view
@require_POST
def kr_archive(request, scope: Scope, kr_id: int):
    """Archive a key result with its subtree; a contribution that counts in its parent's
    aggregate is refused (docs/decisions.md, issue 14 item 3)."""
    kr = kr_get(org=scope.org, id=kr_id)
    kr_require_archive(scope, kr, has_children=_has_children(kr))
    key = ("kr", kr.pk)
    try:
        ids = hierarchy_services.kr_archive(kr=kr, actor=request.user)
    except DjangoValidationError as error:
        return _refused(request, scope, kr.cycle, {key: {"errors": error.messages}})
    if not ids:
        message = f"“{kr.title}” is archived already."
    else:
        others = len(ids) - 1
        message = f"Archived “{kr.title}”" + (
            f" and its {others} contribution{'s' if others != 1 else ''}" if others else ""
        )
        message += ". “Show archived” lists it, to restore it."
    return _done(request, scope, kr.cycle, message, f"objective-{kr.objective_id}")


@org_view
@require_POST
def kr_restore(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    kr_require_archive(scope, kr, has_children=_has_children(kr))
    key = ("kr", kr.pk)
    try:
        ids = hierarchy_services.kr_restore(kr=kr, actor=request.user)
    except DjangoValidationError as error:
        return _refused(request, scope, kr.cycle, {key: {"errors": error.messages}})
    if not ids:
        message = f"“{kr.title}” is not archived."
    else:
        others = len(ids) - 1
        message = f"Restored “{kr.title}”" + (
            f" and its {others} contribution{'s' if others != 1 else ''}" if others else ""
        )
        message += "."
    return _done(request, scope, kr.cycle, message, f"kr-{kr.pk}")
