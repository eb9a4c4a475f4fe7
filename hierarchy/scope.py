"""The organization scope: the one place that turns `{org}` into a tenant.

Every API and page of an organization resolves its scope here first. A caller
who is not a member gets the same 404 as for an organization that does not
exist, so nothing of another tenant can be seen, counted or guessed. Objects
are then loaded through the scope (`scope.get(Model, id)`), never bare.
"""

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection, models
from django.db.models import BooleanField, CharField, Func, Value
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from rest_framework.views import APIView

from hierarchy.models import Membership, Organization, TenantModel
from okrplan.lib import tenancy


@dataclass(frozen=True)
class Scope:
    org: Organization
    membership: Membership

    @property
    def user(self):
        return self.membership.user

    @property
    def is_admin(self) -> bool:
        return self.membership.is_admin

    @property
    def can_write(self) -> bool:
        return self.membership.can_write

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("Only an admin of this organization may do this.")

    def require_writer(self) -> None:
        if not self.can_write:
            raise PermissionDenied("Viewers may read but not change anything.")

    def queryset(self, model: type[TenantModel]) -> models.QuerySet:
        return model.objects.filter(organization=self.org)

    def get(self, model_or_queryset, pk) -> models.Model:
        """Load one object of this organization, or 404 (the same for foreign and missing)."""
        qs = (
            model_or_queryset
            if isinstance(model_or_queryset, models.QuerySet)
            else model_or_queryset.objects.all()
        )
        try:
            return qs.get(organization=self.org, pk=pk)
        except (qs.model.DoesNotExist, ValueError, TypeError):
            raise Http404 from None


MEMBERSHIPS = "_okrplan_memberships"


class _ScopeSet(Func):
    """`set_config('okrplan.org_id', <the organization's id>, true)`: this transaction in
    the organization's rows (okrplan/lib/tenancy.py), in the query that finds it."""

    function = "set_config"
    output_field = CharField()

    def __init__(self):
        super().__init__(
            Value(tenancy.GUC),
            Cast("id", CharField()),
            Value(True, output_field=BooleanField()),
        )


def _one(queryset: models.QuerySet):
    """The one row of `queryset` (by a unique key), or None."""
    try:
        return queryset.get()
    except queryset.model.DoesNotExist:
        return None


def _org_enter(slug: str) -> Organization | None:
    """Organization `slug`, and on PostgreSQL this transaction set in its rows (the
    organization is the tenant root, not tenant data: it can be found before any is
    set); None, and nothing set, when there is no such organization."""
    orgs = Organization.objects.filter(slug=slug)
    if connection.vendor == "postgresql":
        orgs = orgs.annotate(_scope_set=_ScopeSet())
    return _one(orgs)


def _membership_in(*, user, slug: str) -> Membership | None:
    """The user's membership of organization `slug` with the organization and the user
    loaded, or None (the same for a foreign and a missing organization)."""
    if connection.vendor == "postgresql":
        # the organization first, setting it for row-level security; then the
        # membership (tenant data) can be read
        org = _org_enter(slug)
        if org is None:
            return None
        membership = _one(Membership.objects.filter(organization=org, user_id=user.pk))
    else:  # no row-level security: one query
        membership = _one(
            Membership.objects.select_related("organization").filter(
                organization__slug=slug, user_id=user.pk
            )
        )
        org = membership.organization if membership is not None else None
    if membership is None:
        return None
    membership.organization, membership.user = org, user
    return membership


def membership_remember(user, membership: Membership) -> None:
    """Keep a resolved membership on its user, so that the services' permission checks
    of the same actor (hierarchy/permissions.py) read nothing again."""
    cache = getattr(user, MEMBERSHIPS, None)
    if cache is None:
        cache = {}
        setattr(user, MEMBERSHIPS, cache)
    cache[membership.organization_id] = membership


def scope_resolve(*, user: AbstractBaseUser, slug: str, request=None) -> Scope:
    """The caller's scope in organization `slug`, or 404. With `request`, resolved once
    per request: the page's view and the template's context processor share it."""
    if not user.is_authenticated:
        raise Http404
    cached = getattr(request, "_okrplan_scope", None)
    if cached is not None and cached.org.slug == slug and cached.membership.user_id == user.pk:
        return cached
    membership = _membership_in(user=user, slug=slug)
    if membership is None:
        raise Http404
    scope = Scope(org=membership.organization, membership=membership)
    membership_remember(user, membership)
    if request is not None:
        request._okrplan_scope = scope
    return scope


def org_enter(slug: str) -> None:
    """Row-level security (okrplan/lib/tenancy.py): this transaction in the rows of
    organization `slug` (the benchmark's floors; requests do it in `scope_resolve`).
    SQLite: nothing."""
    if connection.vendor == "postgresql":
        _org_enter(slug)


class OrgApi(APIView):
    """Base of every API under /api/v1/orgs/{org}/: resolves `self.scope` first."""

    scope: Scope

    def dispatch(self, request, *args, **kwargs):
        with tenancy.request_transaction():  # the organization is set for its transaction
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.scope = scope_resolve(user=request.user, slug=kwargs["org"])

    def get_serializer_context(self) -> dict:
        return {"request": self.request, "scope": self.scope, "org": self.scope.org}


def org_view(view):
    """Decorator for browser views of an organization: login, then the scope.

    The view is called as `view(request, scope, **kwargs)`; a non-member gets 404.
    """

    @wraps(view)
    def wrapper(request, org: str, *args, **kwargs):
        if not request.user.is_authenticated and getattr(request, "htmx", False):
            # An htmx request (live totals, a fragment) after the session expired: send
            # the whole page to the login, not the login page into the fragment's box.
            back = request.htmx.current_url_abs_path or request.get_full_path()
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(back).url
            return response
        return _logged_in(request, org, *args, **kwargs)

    @login_required
    def _logged_in(request, org: str, *args, **kwargs):
        with tenancy.request_transaction():  # the organization is set for its transaction
            scope = scope_resolve(user=request.user, slug=org, request=request)
            return view(request, scope, *args, **kwargs)

    return wrapper
