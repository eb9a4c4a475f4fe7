"""The admin pages of an organization (SPEC.md §6 "Admin"): the first-run setup guide,
members, departments, cycles and the organization's settings.

Admins only, checked here in each view (`scope.require_admin()`: 403 for other
members; the scope itself answers 404 to outsiders). Every write parses the POST with a
Django Form (hierarchy/forms.py: invitations, a member's role, departments, cycles, the
settings' numbers) and calls the same service as the API, so the page refuses what the
API refuses; the errors are shown next to the field they name, in the user's words, and
nothing is written. Success: a message and a redirect (or, for htmx, the changed row).
"""

from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from hierarchy import selectors, services
from hierarchy.apis import cycle_overlap_warning, invitations_of_org
from hierarchy.forms import (
    SETTINGS_FIELDS,
    CycleForm,
    DepartmentForm,
    InvitationForm,
    MemberRoleForm,
    SettingsForm,
)
from hierarchy.models import Cycle, Department, KeyResult, Membership, Role
from hierarchy.scope import Scope, org_view
from hierarchy.selectors import cycles_with_current
from hierarchy.switcher import org_switch_refresh
from okrplan.lib.forms import NON_FIELD, form_add_service_errors
from okrplan.lib.numbers import fmt


def _render(request, scope: Scope, template: str, context: dict, status: int = 200):
    return render(
        request,
        template,
        {
            "scope": scope,
            "org": scope.org,
            "roles": Role.choices,
            "from_setup": _from_setup(request),
            **context,
        },
        status=status,
    )


# --- The setup guide's round trip ----------------------------------------------------
# Each step of the setup guide links to the admin page that does it with `?next=setup`;
# that page's form sends `next=setup` back, and once it succeeds the admin is back on the
# guide. Only this one word: no address is taken from the request.

SETUP = "setup"


def _from_setup(request) -> bool:
    return (request.POST if request.method == "POST" else request.GET).get("next") == SETUP


def _done(request, scope: Scope, default: str):
    """After a successful write: the setup guide when the form came from it, else `default`."""
    if request.POST.get("next") == SETUP:
        return redirect("org-setup", scope.org.slug)
    return redirect(default, scope.org.slug)


SETUP_STEPS = {
    "departments": {
        "title": "Departments with leads",
        "what": "Add the departments that own key results, each with its lead: a member "
        "who answers for the department's plans. You can lead one yourself for now and "
        "name its lead once they have joined.",
        "url": "admin-departments",
        "anchor": "add-h",
        "action": "Add a department",
        "again": "Add another department",
    },
    "cycle": {
        "title": "The first cycle",
        "what": "A cycle is the planning period, usually a quarter: its dates give the "
        "periods the plans are made of, the refine window, the alignment meeting and the "
        "mid-cycle check.",
        "url": "admin-cycles",
        "anchor": "create-h",
        "action": "Create the cycle",
        "again": "Create another cycle",
    },
    "invitations": {
        "title": "Invite people",
        "what": "Invite the department leads and everyone who plans with you, by username "
        "or e-mail address. Each gets a link, and becomes a member on accepting.",
        "url": "admin-members",
        "anchor": "add-h",
        "action": "Invite someone",
        "again": "Invite more people",
    },
}


@org_view
@require_GET
def org_setup(request, scope: Scope):
    """The admin's first-run setup guide: each step done or not, from the data."""
    scope.require_admin()
    progress = selectors.org_setup_progress(org=scope.org)
    steps = [
        {
            **SETUP_STEPS[step.key],
            "key": step.key,
            "done": step.done,
            "href": f"{reverse(SETUP_STEPS[step.key]['url'], args=[scope.org.slug])}"
            f"?next={SETUP}#{SETUP_STEPS[step.key]['anchor']}",
        }
        for step in progress.steps
    ]
    return _render(request, scope, "hierarchy/setup.html", {"progress": progress, "steps": steps})


# --- Members ----------------------------------------------------------------------


def _member_rows(scope: Scope, failed: dict | None = None) -> list[dict]:
    """Each member with the departments they lead: two queries, whatever the size.
    `failed`: a row that was refused, `{membership id: {"form": …, "remove_errors": …}}`."""
    led = defaultdict(list)
    for lead_id, name in scope.queryset(Department).order_by("name").values_list("lead_id", "name"):
        led[lead_id].append(name)
    members = scope.queryset(Membership).select_related("user").order_by("user__username")
    failed = failed or {}
    return [{"m": m, "leads": led.get(m.user_id, []), **failed.get(m.pk, {})} for m in members]


def _members_page(request, scope: Scope, *, status=200, failed=None, form=None, **context):
    return _render(
        request,
        scope,
        "hierarchy/admin/members.html",
        {
            "tab": "members",
            "rows": _member_rows(scope, failed),
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
            return _done(request, scope, "admin-members")
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


def _member_row_response(
    request, scope: Scope, membership: Membership, *, form=None, remove_errors=(), note=""
):
    """The row for htmx (200, errors included, so htmx swaps it in); else the page. `form`:
    the refused role form; `remove_errors`: why the member was not removed."""
    failed = {"form": form, "remove_errors": list(remove_errors)}
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
            {"row": {"m": membership, "leads": led, "note": note, **failed}},
        )
    return _members_page(request, scope, status=400, failed={membership.pk: failed})


@org_view
@require_POST
def admin_member_role(request, scope: Scope, member_id: int):
    scope.require_admin()
    membership = scope.get(Membership.objects.select_related("user"), member_id)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            membership = services.membership_update(
                membership=membership, role=form.cleaned_data["role"]
            )
        except DjangoValidationError as error:
            form_add_service_errors(form, error)
    if form.errors:
        membership.refresh_from_db(fields=["role"])  # the row shows the role it has
        return _member_row_response(request, scope, membership, form=form)
    text = f"{membership.user.username} is now {membership.get_role_display().lower()}."
    if membership.user_id == request.user.pk and membership.role != Role.ADMIN:
        # You stepped down: the admin pages are no longer yours.
        messages.success(request, text)
        if request.htmx:
            return HttpResponseClientRedirect(f"/o/{scope.org.slug}/")
        return redirect("org-home", scope.org.slug)
    if request.htmx:
        return _member_row_response(request, scope, membership, note="Saved.")
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
    except DjangoValidationError as error:
        return _member_row_response(request, scope, membership, remove_errors=error.messages)
    messages.success(request, f"{username} is no longer a member of {scope.org.name}.")
    if yourself:
        org_switch_refresh(request)
    target = "home" if yourself else "admin-members"
    args = [] if yourself else [scope.org.slug]
    if request.htmx:
        return HttpResponseClientRedirect(redirect(target, *args).url)
    return redirect(target, *args)


# --- Departments ------------------------------------------------------------------


def _departments_page(request, scope: Scope, *, status=200, refused=None, add_form=None):
    """The departments in use, each an editable row (its form); the archived ones only
    with `?archived=1` (their count says there are some). `refused`: the form of a row
    that was refused, `{department id: form}`."""
    refused = refused or {}
    departments = list(scope.queryset(Department).select_related("lead", "parent").order_by("name"))
    members = scope.queryset(Membership).select_related("user").order_by("user__username")
    active = [d for d in departments if d.archived_at is None]
    archived = [d for d in departments if d.archived_at is not None]
    show_archived = request.GET.get("archived") == "1" or any(d.pk in refused for d in archived)
    return _render(
        request,
        scope,
        "hierarchy/admin/departments.html",
        {
            "tab": "departments",
            "rows": [
                {
                    "d": d,
                    "form": refused.get(d.pk) or DepartmentForm(scope=scope, department=d),
                    "parents": active,
                }
                for d in active
            ],
            "archived": [{"d": d} for d in archived] if show_archived else [],
            "archived_count": len(archived),
            "show_archived": show_archived,
            "departments": active,
            "members": members,
            "add_form": add_form or DepartmentForm(scope=scope),
        },
        status=status,
    )


@org_view
@require_http_methods(["GET", "POST"])
def admin_departments(request, scope: Scope):
    scope.require_admin()
    if request.method == "GET":
        return _departments_page(request, scope)
    form = DepartmentForm(request.POST, scope=scope)
    if form.is_valid():
        try:
            department = services.department_create(org=scope.org, **form.cleaned_data)
        except DjangoValidationError as error:
            form_add_service_errors(form, error)
    if form.errors:
        return _departments_page(request, scope, status=400, add_form=form)
    messages.success(request, f"Department {department.name} created, led by {department.lead}.")
    return _done(request, scope, "admin-departments")


@org_view
@require_POST
def admin_department_update(request, scope: Scope, department_id: int):
    """Rename a department, name its new lead or move it (the fields of the row's form)."""
    scope.require_admin()
    department = scope.get(Department.objects.select_related("lead", "parent"), department_id)
    form = DepartmentForm(request.POST, scope=scope, department=department)
    if form.is_valid():
        try:
            department = services.department_update(department=department, **form.cleaned_data)
        except DjangoValidationError as error:
            form_add_service_errors(form, error)
    if form.errors:
        department.refresh_from_db()  # the row's labels name it as it is
        if request.htmx:
            return _department_row(request, scope, department, form)
        return _departments_page(request, scope, status=400, refused={department.pk: form})
    if request.htmx:
        form = DepartmentForm(scope=scope, department=department)
        return _department_row(request, scope, department, form, note="Saved.")
    messages.success(request, f"Department {department.name} saved (lead: {department.lead}).")
    return redirect("admin-departments", scope.org.slug)


def _department_row(request, scope: Scope, department, form, note=""):
    parents = list(scope.queryset(Department).filter(archived_at__isnull=True).order_by("name"))
    return _render(
        request,
        scope,
        "hierarchy/admin/departments.html#department-row",
        {"row": {"d": department, "form": form, "note": note, "parents": parents}},
    )


def _department_action(request, scope: Scope, department_id: int, action, done: str):
    """Archive, restore or delete a department: a message either way, back to the list
    (the archived ones shown when it is about one of them)."""
    scope.require_admin()
    department = scope.get(Department, department_id)
    name, was_archived = department.name, department.archived_at is not None
    try:
        department = action(department=department)
    except DjangoValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done.format(name=name))
        if department is not None:  # deleted: still among the archived if it was
            was_archived = department.archived_at is not None
    url = reverse("admin-departments", args=[scope.org.slug])
    return redirect(f"{url}?archived=1" if was_archived else url)


@org_view
@require_POST
def admin_department_archive(request, scope: Scope, department_id: int):
    return _department_action(
        request,
        scope,
        department_id,
        services.department_archive,
        "{name} is archived: forms no longer offer it; its key results and objectives stay "
        "as they are.",
    )


@org_view
@require_POST
def admin_department_restore(request, scope: Scope, department_id: int):
    return _department_action(
        request, scope, department_id, services.department_restore, "{name} is restored."
    )


@org_view
@require_POST
def admin_department_delete(request, scope: Scope, department_id: int):
    return _department_action(
        request, scope, department_id, services.department_delete, "{name} is deleted."
    )


# --- Cycles -----------------------------------------------------------------------


def _cycles_page(request, scope: Scope, *, status=200, form=None):
    """The cycles, newest first, each with what it overlaps; the archived ones only with
    `?archived=1` (their count says there are some). One query."""
    cycles = list(
        cycles_with_current(scope.queryset(Cycle))
        .annotate(objective_count=Count("objectives"))
        .order_by("-start", "-id")
    )
    active = [c for c in cycles if c.archived_at is None]
    show_archived = request.GET.get("archived") == "1"
    rows = [
        {
            "cycle": c,
            "overlaps": [
                o for o in active if o.pk != c.pk and o.start <= c.end and c.start <= o.end
            ]
            if c.archived_at is None
            else [],
        }
        for c in cycles
        if show_archived or c.archived_at is None
    ]
    return _render(
        request,
        scope,
        "hierarchy/admin/cycles.html",
        {
            "tab": "cycles",
            "rows": rows,
            "archived_count": len(cycles) - len(active),
            "show_archived": show_archived,
            "form": form or CycleForm(),
        },
        status=status,
    )


def _cycle_saved(request, cycle: Cycle, text: str) -> None:
    """The success message, and a warning for each cycle it overlaps (allowed: the
    current one on the days they share is the one that started last)."""
    messages.success(request, text)
    for other in selectors.cycle_overlapping(cycle=cycle):
        messages.warning(request, cycle_overlap_warning(cycle, other))


@org_view
@require_http_methods(["GET", "POST"])
def admin_cycles(request, scope: Scope):
    scope.require_admin()
    if request.method == "GET":
        return _cycles_page(request, scope)
    form = CycleForm(request.POST)
    if form.is_valid():
        try:
            cycle = services.cycle_create(org=scope.org, **form.cleaned_data)
        except DjangoValidationError as error:
            form_add_service_errors(form, error)
    if form.errors:
        return _cycles_page(request, scope, status=400, form=form)
    _cycle_saved(
        request,
        cycle,
        f"Cycle {cycle.name} created: {len(cycle.periods)} periods, alignment meeting on "
        f"{date_format(cycle.alignment_meeting, 'j M Y')}, "
        f"mid-cycle check on {date_format(cycle.midcycle_check, 'j M Y')}.",
    )
    return _done(request, scope, "admin-cycles")


@org_view
@require_http_methods(["GET", "POST"])
def admin_cycle_edit(request, scope: Scope, cycle_id: int):
    """Edit a cycle: its name, dates, periods and refine window (the periods are fixed
    once it has key results). An empty alignment meeting or mid-cycle check is the
    default again."""
    scope.require_admin()
    cycle = scope.get(Cycle, cycle_id)
    has_krs = KeyResult.objects.filter(organization=scope.org, cycle=cycle).exists()
    # what the form sent over what it did not (a disabled field: the periods, fixed)
    form = CycleForm(request.POST if request.method == "POST" else None, cycle=cycle)
    if form.is_bound and form.is_valid():
        try:
            cycle = services.cycle_update(cycle=cycle, **form.cleaned_data)
        except DjangoValidationError as error:
            form_add_service_errors(form, error)
        else:
            _cycle_saved(request, cycle, f"Cycle {cycle.name} saved.")
            return redirect("admin-cycles", scope.org.slug)
    return _render(
        request,
        scope,
        "hierarchy/admin/cycle_edit.html",
        {
            "tab": "cycles",
            # as stored: a refused update may have set some of its attributes
            "cycle": scope.get(Cycle, cycle_id) if form.errors else cycle,
            "form": form,
            "has_krs": has_krs,
        },
        status=400 if form.errors else 200,
    )


def _cycle_action(request, scope: Scope, cycle_id: int, action, done: str):
    """Archive, restore or delete a cycle: a message either way, back to the list (the
    archived ones shown when it is about one of them)."""
    scope.require_admin()
    cycle = scope.get(Cycle, cycle_id)
    name, archived = cycle.name, cycle.archived_at is not None
    try:
        cycle = action(cycle=cycle)
    except DjangoValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done.format(name=name))
        if cycle is not None:  # deleted: still among the archived if it was
            archived = cycle.archived_at is not None
    url = reverse("admin-cycles", args=[scope.org.slug])
    return redirect(f"{url}?archived=1" if archived else url)


@org_view
@require_POST
def admin_cycle_archive(request, scope: Scope, cycle_id: int):
    return _cycle_action(
        request,
        scope,
        cycle_id,
        services.cycle_archive,
        "{name} is archived: it is out of the cycle lists and never current; its objectives "
        "and key results can still be read.",
    )


@org_view
@require_POST
def admin_cycle_restore(request, scope: Scope, cycle_id: int):
    return _cycle_action(request, scope, cycle_id, services.cycle_restore, "{name} is restored.")


@org_view
@require_POST
def admin_cycle_delete(request, scope: Scope, cycle_id: int):
    return _cycle_action(request, scope, cycle_id, services.cycle_delete, "{name} is deleted.")


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
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.organization_settings_update(org=scope.org, **form.cleaned_data)
            except DjangoValidationError as error:
                form_add_service_errors(form, error)
                scope.org.refresh_from_db()
            else:
                messages.success(request, "Settings saved.")
                return redirect("admin-settings", scope.org.slug)
        errors = {
            (NON_FIELD if name == "__all__" else name): list(messages_)
            for name, messages_ in form.errors.items()
        }
        values = {**values, **{name: form[name].value() or "" for name in form.fields}}
    return _render(
        request,
        scope,
        "hierarchy/admin/settings.html",
        {"tab": "settings", "groups": _settings_groups(values, errors), "errors": errors},
        status=400 if errors else 200,
    )
