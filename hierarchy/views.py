"""Browser pages of the hierarchy: the organization list and an organization's home."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hierarchy.models import Department, KeyResult, Membership
from hierarchy.scope import Scope, org_view
from okrplan.lib.throttling import LoginRateThrottle, throttled_message

_login = auth_views.LoginView.as_view()


def login(request, *args, **kwargs):
    """Django's login page, with the API token's limit on attempts (LOGIN_RATE): past
    it, the form again with 429, Retry-After and what to do; the password is not tried."""
    if request.method == "POST":
        throttle = LoginRateThrottle()
        if not throttle.allow_request(request, None):
            seconds = throttle.retry_after()
            form = AuthenticationForm(request, initial={"username": request.POST.get("username")})
            context = {
                "form": form,
                "throttled": throttled_message(seconds),
                "next": request.POST.get("next", ""),
            }
            response = render(request, "registration/login.html", context, status=429)
            response["Retry-After"] = str(seconds)
            return response
    return _login(request, *args, **kwargs)


@login_required
@require_GET
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    return render(request, "hierarchy/home.html", {"memberships": memberships})


@org_view
@require_GET
def org_home(request, scope: Scope):
    departments = scope.queryset(Department).select_related("lead", "parent").order_by("name")
    members = scope.queryset(Membership).select_related("user").order_by("user__username")
    shared = (
        scope.queryset(KeyResult)
        .filter(cross_functional=True)
        .select_related("owner", "cycle")
        .order_by("-cycle__start", "title")[:50]
    )
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
