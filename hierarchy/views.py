"""Browser pages of the hierarchy: the organization list and an organization's home."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hierarchy.models import Department, KeyResult, Membership
from hierarchy.scope import Scope, org_view
from okrplan.lib.tenancy import system_view
from okrplan.lib.throttling import LoginRateThrottle, throttled_message

_login = auth_views.LoginView.as_view()


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
        context["form"] = AuthenticationForm(request, initial=initial)
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
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    return render(request, "hierarchy/home.html", {"memberships": memberships})


def _person(first: str, last: str, username: str) -> str:
    """A person as the pages name them: the full name, else the username."""
    return f"{first} {last}".strip() or username


@org_view
@require_GET
def org_home(request, scope: Scope):
    # Plain values, not instances: the organization's home is the page everyone opens.
    departments = [
        {"name": name, "lead": _person(*lead), "parent": parent}
        for name, parent, *lead in scope.queryset(Department)
        .order_by("name")
        .values_list(
            "name", "parent__name", "lead__first_name", "lead__last_name", "lead__username"
        )
    ]
    members = [
        {"name": _person(first, last, username), "username": username, "role": role}
        for username, first, last, role in scope.queryset(Membership)
        .order_by("user__username")
        .values_list("user__username", "user__first_name", "user__last_name", "role")
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
            "departments": departments,
            "members": members,
            "shared": shared,
        },
    )
