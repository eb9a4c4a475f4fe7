"""The audit trail of a KR: its plan revisions and round events."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hierarchy.models import KeyResult
from hierarchy.permissions import (
    plan_can_edit,
)
from hierarchy.scope import Scope, org_view
from notifications.models import round_label
from notifications.selectors import (
    kr_history,
)
from plans.models import Cause
from plans.selectors import kr_get

# --- The audit trail of a KR -------------------------------------------------------

HISTORY_PAGE_SIZE = 100
EVENT_LABELS = {
    "started": "Round started",
    "modified_again": "Modified again",
    "notice_sent": "Impact notice sent",
    "assessed": "Answered",
    "reminder": "Reminder",
    "escalation": "Escalation",
    "orphaned": "Orphaned modification",
    "orphan_notice": "Automatic notice",
    "closed": "Round closed",
}
CAUSE_LABELS = dict(Cause.choices)


def _history_row(entry: dict) -> dict:
    """One line of the trail: a plan revision or a round event, in words."""
    if entry["kind"] == "revision":
        return {
            **entry,
            "what": f"Plan version {entry['version']}",
            "cause_label": CAUSE_LABELS.get(entry["cause"], entry["cause"]),
            "text": entry["rationale"],
        }
    return {
        **entry,
        "what": EVENT_LABELS.get(entry["event"], entry["event"].replace("_", " ").capitalize()),
        "cause_label": round_label(entry["round_number"]),
        "text": entry["message"],
    }


@org_view
@require_GET
def kr_history_page(request, scope: Scope, kr_id: int):
    """Plan revisions and round events, oldest first: what `GET .../history/` returns."""
    kr = kr_get(org=scope.org, id=kr_id)
    entries = kr_history(org=scope.org, kr=kr)
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    has_children = KeyResult.objects.filter(organization=scope.org, parent=kr).exists()
    return render(
        request,
        "notifications/history.html",
        {
            "scope": scope,
            "org": scope.org,
            "kr": kr,
            "has_children": has_children,
            # the empty history's action: the first save of the plan
            "can_edit_plan": plan_can_edit(scope, kr, has_children=has_children),
            "page": page,
            "rows": [_history_row(e) for e in page.object_list],
            "modifications": sum(1 for e in entries if e["is_modification"]),
            "round_ids": sorted({e["round"] for e in entries if e["round"]}),
        },
    )
