"""Browser pages of the hierarchy: the organization list, a new organization and an
organization's home."""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hierarchy import selectors, services
from hierarchy.forms import LoginForm, OrganizationForm, SignupForm
from hierarchy.models import Department, InvitationStatus, KeyResult, Membership
from hierarchy.scope import Scope, org_view
from hierarchy.switcher import org_switch_refresh, org_switch_store
from okrplan.lib.tenancy import system_view
from okrplan.lib.throttling import (
    LoginRateThrottle,
    RegisterRateThrottle,
    RegisterThrottled,
    throttled_message,
)

_login = auth_views.LoginView.as_view(authentication_form=LoginForm)


def _login_refused(request, render_form):
    """Past the limit on attempts (LOGIN_RATE, keyed by address and `username_key`): the
    form again (`render_form(context)`) with 429, Retry-After and what to do; the password
    is not tried. None when the attempt may go on."""
    if request.method != "POST":
        return None
    throttle = LoginRateThrottle()
    if throttle.allow_request(request, None):
        return None
    seconds = throttle.retry_after()
    context = {"throttled": throttled_message(seconds), "next": request.POST.get("next", "")}
    response = render_form(context)
    response.status_code = 429
    response["Retry-After"] = str(seconds)
    return response


def login(request, *args, **kwargs):
    """Django's login page, with the API token's limit on attempts."""

    def form(context):
        initial = {"username": request.POST.get("username")}
        context["form"] = LoginForm(request, initial=initial)
        return render(request, "registration/login.html", context)

    return _login_refused(request, form) or _login(request, *args, **kwargs)


def admin_login(request, *args, **kwargs):
    """The Django admin's login page (`/admin/login/`), with the same limit: one budget
    per address and person across the three doors."""
    from django.contrib import admin
    from django.contrib.admin.forms import AdminAuthenticationForm

    def form(context):
        initial = {"username": request.POST.get("username")}
        context |= {
            **admin.site.each_context(request),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            "form": AdminAuthenticationForm(request, initial=initial),
        }
        return render(request, "admin/login.html", context)

    return _login_refused(request, form) or admin.site.login(request, *args, **kwargs)


@login_required
@require_GET
@system_view  # the caller's organizations, all of them: filtered by the caller below
def home(request):
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name", "organization_id")
    )
    # the top bar's switcher learns them from here too (hierarchy/switcher.py)
    org_switch_store(request, [[m.organization.slug, m.organization.name] for m in memberships])
    return render(
        request,
        "hierarchy/home.html",
        {
            "memberships": memberships,
            "invitations": selectors.invitation_pending_list(user=request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@system_view  # a new tenant and its first membership: no organization of the caller's yet
def org_create(request):
    """A new organization, its creator its admin; then the setup guide."""
    form = OrganizationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.organization_create(**form.cleaned_data, actor=request.user)
        except ValidationError as error:
            # the slug it tried (made from the name when left empty), to change
            form.data = form.data.copy()
            form.data["slug"] = form.cleaned_data["slug"]
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            org_switch_refresh(request)
            messages.success(
                request, f"{org.name} is created, with you as its admin. Next: set it up."
            )
            return redirect("org-setup", org.slug)
    return render(
        request,
        "hierarchy/org_create.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _person(first: str, last: str, username: str) -> str:
    """A person as the pages name them: the full name, else the username."""
    return f"{first} {last}".strip() or username


@org_view
@require_GET
def org_home(request, scope: Scope):
    # Plain values, not instances: the organization's home is the page everyone opens.
    # Ids for the rows' anchors: the search page links a person or a department here.
    departments = [
        {"id": pk, "name": name, "lead": _person(*lead), "parent": parent}
        for pk, name, parent, *lead in scope.queryset(Department)
        .filter(archived_at__isnull=True)
        .order_by("name")
        .values_list(
            "id", "name", "parent__name", "lead__first_name", "lead__last_name", "lead__username"
        )
    ]
    members = [
        {"id": pk, "name": _person(first, last, username), "username": username, "role": role}
        for pk, username, first, last, role in scope.queryset(Membership)
        .order_by("user__username")
        .values_list("id", "user__username", "user__first_name", "user__last_name", "role")
    ]
    shared = [
        {
            "id": pk,
            "title": title,
            "cycle": cycle,
            "owner": _person(*owner),
            "target": target,
            "unit": unit,
        }
        for pk, title, cycle, target, unit, *owner in scope.queryset(KeyResult)
        .filter(cross_functional=True)
        .order_by("-cycle__start", "title")
        .values_list(
            "id",
            "title",
            "cycle__name",
            "target",
            "unit",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )[:50]
    ]
    return render(
        request,
        "hierarchy/org_home.html",
        {
            "scope": scope,
            "org": scope.org,
            # the admin's first-run setup, until it is done (one query, admins only)
            "setup": selectors.org_setup_progress(org=scope.org) if scope.is_admin else None,
            "departments": departments,
            "members": members,
            "shared": shared,
        },
    )


# --- The invitee's side of an invitation ----------------------------------------------
# Answered in the inbox (each inbox page and the home page list the caller's pending
# invitations, `hierarchy/_invitations.html`) or through the e-mailed link (/join/<token>/).


def _back(request, default: str):
    """Where a plain (no-JS) form goes back to: the page it came from, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def _answer(request, invitation, accept: bool):
    """Answer, then: the row for htmx; else a message and the page it came from (after
    accepting without a page to go back to: the organization's home)."""
    error = ""
    try:
        invitation = services.invitation_answer(
            invitation=invitation, user=request.user, accept=accept
        )
    except ValidationError as failure:
        error = " ".join(failure.messages)
    org = invitation.organization
    if accept and not error:
        org_switch_refresh(request)  # one more organization in the top bar's switcher
    if request.htmx:
        context = {"invitation": invitation, "error": error, "answered": not error}
        return render(request, "hierarchy/_invitations.html#invitation-row", context)
    if error:
        messages.error(request, error)
    elif accept:
        messages.success(request, f"You are now a member of {org.name}.")
    else:
        messages.success(request, f"You declined the invitation to {org.name}.")
    if accept and not error:
        return _back(request, reverse("org-home", args=[org.slug]))
    return _back(request, reverse("home"))


@login_required
@require_POST
@system_view  # the invitee is not a member of the organization (yet)
def invitation_accept(request, invitation_id: int):
    invitation = selectors.invitation_of_invitee(user=request.user, invitation_id=invitation_id)
    return _answer(request, invitation, accept=True)


@login_required
@require_POST
@system_view
def invitation_decline(request, invitation_id: int):
    invitation = selectors.invitation_of_invitee(user=request.user, invitation_id=invitation_id)
    return _answer(request, invitation, accept=False)


def _link_page(request, invitation, *, form=None, status=200, throttled=""):
    return render(
        request,
        "hierarchy/invitation.html",
        {
            "invitation": invitation,
            "form": form or SignupForm(initial={"email": invitation.email}),
            "throttled": throttled,
            "open": invitation.state == InvitationStatus.PENDING,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@system_view
def invitation_link(request, token: str):
    """The e-mailed link: the invitation, with Accept and Decline for the invitee logged
    in; for someone not logged in, a login link and a sign-up form (they answer after)."""
    invitation = selectors.invitation_of_link(token=token, user=request.user)
    if request.method == "GET":
        return _link_page(request, invitation)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    answer = request.POST.get("answer")
    if answer not in ("accept", "decline"):
        return _link_page(request, invitation, status=400)
    return _answer(request, invitation, accept=answer == "accept")


@require_POST
@system_view
def invitation_signup(request, token: str):
    """Sign up through an invitation by e-mail: the new account holds the invitation and
    answers it on the link's page. Limited per address like the API's register."""
    invitation = selectors.invitation_of_link(token=token, user=request.user)
    if request.user.is_authenticated:
        return redirect("invitation-link", token)
    form = SignupForm(request.POST)
    throttle = RegisterRateThrottle()
    if not throttle.allow_request(request, None):
        seconds = throttle.retry_after()
        response = _link_page(
            request,
            invitation,
            form=form,
            status=429,
            throttled=str(RegisterThrottled(wait=seconds).detail),
        )
        response["Retry-After"] = str(seconds)
        return response
    if form.is_valid():
        try:
            user, _ = services.user_register(**form.cleaned_data, invitation_token=token)
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            auth_login(request, user, backend="okrplan.lib.auth.SessionUserBackend")
            messages.success(request, f"Welcome, {user.username}: now accept or decline.")
            return redirect("invitation-link", token)
    return _link_page(request, invitation, form=form, status=400)
