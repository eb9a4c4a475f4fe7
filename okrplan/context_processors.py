"""Template context shared by every page."""

from django.http import Http404

from hierarchy.scope import scope_resolve
from notifications.models import Notification


def unread_notifications(request) -> dict:
    """`unread_count` of the caller's notifications, on pages inside an organization.

    Only when the URL names an organization the caller is a member of (the same
    resolver as the views, so a foreign slug adds nothing, and the scope the view
    resolved already); one COUNT (it is on every page).
    """
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if match is None or "org" not in match.kwargs or user is None or not user.is_authenticated:
        return {}
    try:
        scope = scope_resolve(user=user, slug=match.kwargs["org"], request=request)
    except Http404:
        return {}
    unread = Notification.objects.filter(organization=scope.org, user=user, read_at__isnull=True)
    return {"unread_count": unread.count()}
