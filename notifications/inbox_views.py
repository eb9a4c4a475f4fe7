"""The inbox: a person's notifications in an organization."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hierarchy.models import KeyResult
from hierarchy.scope import Scope, org_view
from hierarchy.selectors import invitation_pending_list
from notifications.forms import BackToInboxForm
from notifications.models import (
    Notification,
)
from notifications.services import (
    notification_mark_read,
    notifications_mark_all_read,
)

# --- The inbox ------------------------------------------------------------------

INBOX_PAGE_SIZE = 50


def _inbox_queryset(scope: Scope, user):
    """The caller's notifications in this organization, newest first, each knowing
    whether its KR has children (so the row links to the KR's combined view). A
    reminder folded into a newer one about the same step is that one's (not listed)."""
    has_children = KeyResult.objects.filter(organization=scope.org, parent_id=OuterRef("kr_id"))
    return (
        Notification.objects.filter(organization=scope.org, user=user, grouped_into__isnull=True)
        .select_related("kr")
        .annotate(kr_has_children=Exists(has_children))
        .order_by("-created_at", "-id")
    )


def _back_to_inbox(request, scope: Scope):
    """Where a plain (no-JS) form goes back to: the inbox page it came from."""
    inbox = reverse("inbox", args=[scope.org.slug])
    return redirect(BackToInboxForm(request.POST).target(request, inbox))


@org_view
@require_GET
def inbox(request, scope: Scope):
    unread_only = request.GET.get("unread") == "1"
    notifications = _inbox_queryset(scope, request.user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "scope": scope,
            "org": scope.org,
            "page": page,
            "unread_only": unread_only,
            "query_prefix": "unread=1&" if unread_only else "",
            # from every organization: the invitee is not a member of the inviting one
            "invitations": invitation_pending_list(user=request.user),
        },
    )


@org_view
@require_POST
def inbox_read(request, scope: Scope, notification_id: int):
    """Mark one of the caller's notifications read: the row (and the badge) for htmx,
    a redirect back to the inbox without JS. Another person's id is a 404."""
    notification = scope.get(_inbox_queryset(scope, request.user), notification_id)
    notification_mark_read(notification=notification)
    if request.htmx:
        return render(
            request,
            "notifications/inbox.html#row",
            {"scope": scope, "org": scope.org, "n": notification, "oob": True},
        )
    return _back_to_inbox(request, scope)


@org_view
@require_POST
def inbox_read_all(request, scope: Scope):
    count = notifications_mark_all_read(organization_id=scope.org.pk, user=request.user)
    messages.success(
        request,
        f"Marked {count} notification{'s' if count != 1 else ''} as read."
        if count
        else "Nothing was unread.",
    )
    return _back_to_inbox(request, scope)
