"""The HTTP benchmark's floors: the least a request of each kind can cost in this server.

Mounted under `/bench/` only when `OKRPLAN_BENCH_URLS=1` (see `okrplan/urls.py`), never
in production. Each floor goes through the same middleware and authenticates the same
way as the request it stands next to (a token for the API, the session cookie for the
page), then does one indexed read, or one single-row update in a transaction, and
renders a few bytes. The tree's floor (`floor_tree`) stands next to the cycle tree page:
the same rows read with one plain query and rendered by a bare template. What a real
request costs above its floor is the work of okrplan: the organization scope, the
permissions, the service or selector, the rendering.

On PostgreSQL a floor, like every request of an organization, runs in a transaction
that sets the organization for row-level security first (okrplan/lib/tenancy.py): the
least such a request can cost now includes that statement.
"""

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.template import engines
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from hierarchy.models import KeyResult
from hierarchy.scope import org_enter
from okrplan.lib.tenancy import request_transaction
from plans.models import Plan


class FloorReadApi(APIView):
    """GET: token authentication, then one indexed read of a KR of the organization."""

    def get(self, request, org, kr_id):
        with request_transaction():
            org_enter(org)
            row = (
                KeyResult.objects.filter(organization__slug=org, pk=kr_id)
                .values("id", "title")
                .first()
            )
        if row is None:
            raise Http404
        return Response(row)


class FloorWriteApi(APIView):
    """PUT: token authentication, the JSON body parsed, then one single-row update of a
    plan in a transaction (its `updated_at`, so the plan's version stays current for the
    real saves)."""

    def put(self, request, org, kr_id):
        values = request.data.get("values", [])
        with transaction.atomic():
            org_enter(org)
            updated = Plan.objects.filter(kr_id=kr_id).update(updated_at=timezone.now())
        if not updated:
            raise Http404
        return Response({"kr": kr_id, "values": len(values)})


@login_required
def floor_page(request, org, kr_id):
    """GET: session authentication, then one indexed read, as a small HTML page."""
    with request_transaction():
        org_enter(org)
        row = KeyResult.objects.filter(organization__slug=org, pk=kr_id).values("title").first()
    if row is None:
        raise Http404
    return HttpResponse(f"<!doctype html><title>floor</title><p>{row['title']}</p>")


# One row per KR, the cells the cycle tree shows, nothing else (no links, no actions).
TREE_TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>floor</title><table>{% for kr in krs %}"
    '<tr id="kr-{{ kr.id }}"><th>{{ kr.title }}</th><td>{{ kr.department__name }}</td>'
    "<td>{{ kr.owner__username }}</td><td>{{ kr.target }} {{ kr.unit }}</td>"
    "<td>{{ kr.plan__status }}</td></tr>{% endfor %}</table>"
)


@login_required
def floor_tree(request, org, cycle_id):
    """GET: session authentication, then the cycle's KRs (with their department, owner
    and plan) in one query, each a row of a bare template: what the cycle tree page
    (`cycle-tree`) costs at least."""
    with request_transaction():
        org_enter(org)
        krs = list(
            KeyResult.objects.filter(
                organization__slug=org, cycle_id=cycle_id, archived_at__isnull=True
            )
            .order_by("objective__position", "objective_id", "position", "id")
            .values(
                "id", "title", "department__name", "owner__username", "target", "unit",
                "plan__status",
            )
        )  # fmt: skip
    if not krs:
        raise Http404
    return HttpResponse(TREE_TEMPLATE.render({"krs": krs}))
