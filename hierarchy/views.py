"""Browser pages of the hierarchy: the organization list and an organization's home."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from hierarchy.models import Department, KeyResult, Membership
from hierarchy.scope import Scope, org_view


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    return render(request, "hierarchy/home.html", {"memberships": memberships})


@org_view
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
