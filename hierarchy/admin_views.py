"""The admin pages of an organization (SPEC.md §6 "Admin"): members, departments,
cycles and the organization's settings.

Admins only, checked here in each view (`scope.require_admin()`: 403 for other
members; the scope itself answers 404 to outsiders). Every write parses the
POST with the API's own input serializer and calls the same service as the API,
so the page refuses exactly what the API refuses; the errors are shown next to
the field they name and nothing is written. Success: a message and a redirect
(or, for htmx, the changed row).
"""

from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.exceptions import ValidationError as DrfValidationError

from hierarchy import services
from hierarchy.apis import (
    CycleInputSerializer,
    DepartmentInputSerializer,
    MemberDetailApi,
    SettingsSerializer,
    invitations_of_org,
)
from hierarchy.forms import InvitationForm
from hierarchy.models import Cycle, Department, Granularity, Membership, Role
from hierarchy.scope import Scope, org_view
from okrplan.lib.forms import form_data, form_errors, validated
from okrplan.lib.numbers import fmt

INVALID = (DrfValidationError, DjangoValidationError)


def _render(request, scope: Scope, template: str, context: dict, status: int = 200):
    return render(
        request,
        template,
        {"scope": scope, "org": scope.org, "roles": Role.choices, **context},
        status=status,
    )


# --- Members ----------------------------------------------------------------------


def _member_rows(scope: Scope, errors: dict[int, dict] | None = None) -> list[dict]:
    """Each member with the departments they lead: two queries, whatever the size."""
    led = defaultdict(list)
    for lead_id, name in scope.queryset(Department).order_by("name").values_list("lead_id", "name"):
        led[lead_id].append(name)
    members = scope.queryset(Membership).select_related("user").order_by("user__username")
    errors = errors or {}
    return [
        {"m": m, "leads": led.get(m.user_id, []), "errors": errors.get(m.pk, {})} for m in members
    ]


def _members_page(request, scope: Scope, *, status=200, row_errors=None, form=None, **context):
    return _render(
        request,
        scope,
        "hierarchy/admin/members.html",
        {
            "tab": "members",
            "rows": _member_rows(scope, row_errors),
            "invitations": list(invitations_of_org(scope)),
            "form": form or InvitationForm(),
            "invitation_days": settings.INVITATION_DAYS,
            **context,
        },
        status=status,
    )


@org_view
@require_http_methods(["GET", "POST"])
def admin_members(request, scope: Scope):
    """The members, and the invitations: adding someone is inviting them (they accept)."""
    scope.require_admin()
    if request.method == "GET":
        return _members_page(request, scope)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                org=scope.org,
                actor=request.user,
                role=form.cleaned_data["role"],
                **form.cleaned_data["who"],
            )
        except DjangoValidationError as error:
            for messages_ in error.message_dict.values():
                for message in messages_:
                    form.add_error("who", message)
        else:
            messages.success(
                request,
                f"Invited {invitation.username or invitation.email} as "
                f"{invitation.get_role_display().lower()}: they become a member when they "
                "accept.",
            )
            return redirect("admin-members", scope.org.slug)
    return _members_page(request, scope, status=400, form=form)


@org_view
@require_POST
def admin_invitation_withdraw(request, scope: Scope, invitation_id: int):
    scope.require_admin()
    invitation = scope.get(invitations_of_org(scope), invitation_id)
    try:
        services.invitation_withdraw(invitation=invitation)
    except DjangoValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"The invitation of {invitation.username or invitation.email} is withdrawn."
        )
    return redirect("admin-members", scope.org.slug)


def _member_row_response(request, scope: Scope, membership: Membership, errors: dict, note=""):
    """The row for htmx (200, errors included, so htmx swaps it in); else the page."""
    if request.htmx:
        led = list(
            scope.queryset(Department)
            .filter(lead_id=membership.user_id)
            .order_by("name")
            .values_list("name", flat=True)
        )
        return _render(
            request,
            scope,
            "hierarchy/admin/members.html#member-row",
            {"row": {"m": membership, "leads": led, "errors": errors, "note": note}},
        )
    return _members_page(request, scope, status=400, row_errors={membership.pk: errors})


@org_view
@require_POST
def admin_member_role(request, scope: Scope, member_id: int):
    scope.require_admin()
    membership = scope.get(Membership.objects.select_related("user"), member_id)
    try:
        data = validated(MemberDetailApi.InputSerializer(data=form_data(request.POST, ["role"])))
        membership = services.membership_update(membership=membership, **data)
    except INVALID as error:
        membership.refresh_from_db(fields=["role"])
        return _member_row_response(request, scope, membership, form_errors(error))
    text = f"{membership.user.username} is now {membership.get_role_display().lower()}."
    if membership.user_id == request.user.pk and membership.role != Role.ADMIN:
        # You stepped down: the admin pages are no longer yours.
        messages.success(request, text)
        if request.htmx:
            return HttpResponseClientRedirect(f"/o/{scope.org.slug}/")
        return redirect("org-home", scope.org.slug)
    if request.htmx:
        return _member_row_response(request, scope, membership, {}, note="Saved.")
    messages.success(request, text)
    return redirect("admin-members", scope.org.slug)


@org_view
@require_POST
def admin_member_remove(request, scope: Scope, member_id: int):
    scope.require_admin()
    membership = scope.get(Membership.objects.select_related("user"), member_id)
    username, yourself = membership.user.username, membership.user_id == request.user.pk
    try:
        services.membership_delete(membership=membership)
    except INVALID as error:
        return _member_row_response(request, scope, membership, form_errors(error))
    messages.success(request, f"{username} is no longer a member of {scope.org.name}.")
    target = "home" if yourself else "admin-members"
    args = [] if yourself else [scope.org.slug]
    if request.htmx:
        return HttpResponseClientRedirect(redirect(target, *args).url)
    return redirect(target, *args)


# --- Departments ------------------------------------------------------------------


def _departments_page(request, scope: Scope, *, status=200, row_errors=None, **context):
    row_errors = row_errors or {}
    departments = scope.queryset(Department).select_related("lead", "parent").order_by("name")
    members = scope.queryset(Membership).select_related("user").order_by("user__username")
    departments = list(departments)
    return _render(
        request,
        scope,
        "hierarchy/admin/departments.html",
        {
            "tab": "departments",
            "rows": [
                {"d": d, "errors": row_errors.get(d.pk, {}), "values": {}} for d in departments
            ],
            "departments": departments,
            "members": members,
            "add_errors": {},
            "add": {},
            **context,
        },
        status=status,
    )


DEPARTMENT_FIELDS = ["name", "lead", "parent"]


@org_view
@require_http_methods(["GET", "POST"])
def admin_departments(request, scope: Scope):
    scope.require_admin()
    if request.method == "GET":
        return _departments_page(request, scope)
    values = form_data(request.POST, DEPARTMENT_FIELDS, optional=("parent",))
    try:
        data = validated(DepartmentInputSerializer(data=values, context={"org": scope.org}))
        department = services.department_create(org=scope.org, **data)
    except INVALID as error:
        return _departments_page(
            request, scope, status=400, add_errors=form_errors(error), add=values
        )
    messages.success(request, f"Department {department.name} created, led by {department.lead}.")
    return redirect("admin-departments", scope.org.slug)


@org_view
@require_POST
def admin_department_update(request, scope: Scope, department_id: int):
    """Rename a department or name its new lead (the fields of the row's form)."""
    scope.require_admin()
    department = scope.get(Department.objects.select_related("lead", "parent"), department_id)
    values = form_data(request.POST, ["name", "lead"])
    try:
        data = validated(
            DepartmentInputSerializer(data=values, partial=True, context={"org": scope.org})
        )
        department = services.department_update(department=department, **data)
    except INVALID as error:
        department.refresh_from_db()
        errors = form_errors(error)
        if request.htmx:
            return _department_row(request, scope, department, errors, values)
        return _departments_page(request, scope, status=400, row_errors={department.pk: errors})
    if request.htmx:
        return _department_row(request, scope, department, {}, {}, note="Saved.")
    messages.success(request, f"Department {department.name} saved (lead: {department.lead}).")
    return redirect("admin-departments", scope.org.slug)


def _department_row(request, scope: Scope, department, errors, values, note=""):
    return _render(
        request,
        scope,
        "hierarchy/admin/departments.html#department-row",
        {"row": {"d": department, "errors": errors, "values": values, "note": note}},
    )


# --- Cycles -----------------------------------------------------------------------

CYCLE_FIELDS = [
    "name",
    "start",
    "end",
    "granularity",
    "refine_start",
    "refine_end",
    "alignment_meeting",
    "midcycle_check",
]
CYCLE_OPTIONAL = ("refine_start", "refine_end", "alignment_meeting", "midcycle_check")


def _cycles_page(request, scope: Scope, *, status=200, **context):
    cycles = scope.queryset(Cycle).order_by("-start", "-id")
    return _render(
        request,
        scope,
        "hierarchy/admin/cycles.html",
        {
            "tab": "cycles",
            "cycles": cycles,
            "granularities": Granularity.choices,
            "add_errors": {},
            "add": {"granularity": Granularity.MONTH},
            **context,
        },
        status=status,
    )


@org_view
@require_http_methods(["GET", "POST"])
def admin_cycles(request, scope: Scope):
    scope.require_admin()
    if request.method == "GET":
        return _cycles_page(request, scope)
    values = form_data(request.POST, CYCLE_FIELDS, optional=CYCLE_OPTIONAL)
    try:
        data = validated(CycleInputSerializer(data=values))
        cycle = services.cycle_create(org=scope.org, **data)
    except INVALID as error:
        return _cycles_page(request, scope, status=400, add_errors=form_errors(error), add=values)
    messages.success(
        request,
        f"Cycle {cycle.name} created: {len(cycle.periods)} periods, alignment meeting on "
        f"{date_format(cycle.alignment_meeting, 'j M Y')}, "
        f"mid-cycle check on {date_format(cycle.midcycle_check, 'j M Y')}.",
    )
    return redirect("admin-cycles", scope.org.slug)


# --- Settings: tolerances and protocol hours --------------------------------------

SETTINGS_GROUPS = [
    (
        "Alignment checks",
        [
            ("gap_tolerance_pct", "Gap tolerance", "%"),
            ("funnel_tolerance_pct", "Funnel ratio tolerance", "%"),
            ("timing_tolerance", "Timing tolerance (centroid difference)", ""),
            ("overlap_factor", "Overlap factor for parallel claims", "×"),
        ],
    ),
    (
        "The 24-48-72 protocol",
        [
            ("notify_hours", "Notify: impact notice due after", "hours"),
            ("assess_hours", "Assess: answers due after the notice", "hours"),
            ("close_hours", "Close: round closed within", "hours"),
            ("checkin_grace_hours", "Missed check-in: escalate after", "hours"),
        ],
    ),
]
SETTINGS_FIELDS = [name for _, fields in SETTINGS_GROUPS for name, _, _ in fields]
SETTINGS_HELP = {
    "gap_tolerance_pct": "Additive and sequential gaps above this share of the target are "
    "flagged (0 to 100).",
    "funnel_tolerance_pct": "A stage ratio further than this from its historical ratio is "
    "flagged (0 to 1000).",
    "timing_tolerance": "Linked plans whose centroids differ by more than this are flagged "
    "(0 to 1).",
    "overlap_factor": "Combined parallel claims are discounted by this factor (0.5 to 1).",
    "notify_hours": "From the modification (T0) to the parent owner's impact notice.",
    "assess_hours": "From the impact notice to each contributor's answer.",
    "close_hours": "From the modification (T0) to the close of the round.",
    "checkin_grace_hours": "A period ended without a check-in: reminder at once, escalation "
    "to the lead after this.",
}


def _settings_groups(values: dict, errors: dict) -> list[dict]:
    return [
        {
            "title": title,
            "fields": [
                {
                    "name": name,
                    "label": label,
                    "unit": unit,
                    "help": SETTINGS_HELP[name],
                    "value": values[name],
                    "errors": errors.get(name, []),
                }
                for name, label, unit in fields
            ],
        }
        for title, fields in SETTINGS_GROUPS
    ]


def _current_settings(scope: Scope) -> dict:
    return {name: fmt(getattr(scope.org, name)) for name in SETTINGS_FIELDS}


@org_view
@require_http_methods(["GET", "POST"])
def admin_settings(request, scope: Scope):
    scope.require_admin()
    errors: dict = {}
    values = _current_settings(scope)
    if request.method == "POST":
        posted = form_data(request.POST, SETTINGS_FIELDS)
        try:
            data = validated(SettingsSerializer(scope.org, data=posted, partial=True))
            services.organization_settings_update(org=scope.org, **data)
        except INVALID as error:
            errors = form_errors(error)
            values = {**values, **posted}
            scope.org.refresh_from_db()
        else:
            messages.success(request, "Settings saved.")
            return redirect("admin-settings", scope.org.slug)
    return _render(
        request,
        scope,
        "hierarchy/admin/settings.html",
        {"tab": "settings", "groups": _settings_groups(values, errors), "errors": errors},
        status=400 if errors else 200,
    )
