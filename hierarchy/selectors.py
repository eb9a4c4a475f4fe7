"""Reads of invitations from the invitee's side, across organizations.

An invitee is not a member of the organization that invited them, so these read in
`system_scope` (okrplan/lib/tenancy.py) and filter by the invitee themselves: their own
invitations, nothing else. A foreign id or an unknown token is a 404, like a missing one.
"""

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from hierarchy.models import Invitation, InvitationStatus
from okrplan.lib.tenancy import system_scope


def invitation_pending_list(*, user) -> list[Invitation]:
    """The invitations `user` may answer now, newest first."""
    if not user.is_authenticated:
        return []
    with system_scope():
        return list(
            Invitation.objects.filter(
                invitee=user, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
            )
            .select_related("organization", "invited_by")
            .order_by("-created_at", "-id")
        )


def invitation_pending_queryset(*, user) -> QuerySet:
    """The same, as a queryset, for a view that runs in `system_scope` (the API's list)."""
    return (
        Invitation.objects.filter(
            invitee=user, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
        )
        .select_related("organization", "invited_by")
        .order_by("-created_at", "-id")
    )


def invitation_of_invitee(*, user, invitation_id) -> Invitation:
    """One of `user`'s invitations (any status), or 404."""
    with system_scope():
        try:
            return Invitation.objects.select_related("organization", "invited_by").get(
                pk=int(invitation_id), invitee=user
            )
        except (Invitation.DoesNotExist, ValueError, TypeError):
            raise Http404 from None


def invitation_of_link(*, token: str, user=None) -> Invitation:
    """The invitation of an e-mailed link, or 404. Logged in (`user`): only one that is
    theirs, or an invitation by e-mail that nobody holds yet (they may take it)."""
    with system_scope():
        invitation = (
            Invitation.objects.select_related("organization", "invited_by")
            .filter(token=str(token))
            .first()
        )
    if invitation is None:
        raise Http404
    if user is not None and user.is_authenticated:
        mine = invitation.invitee_id == user.pk
        open_to_take = invitation.invitee_id is None and bool(invitation.email)
        if not (mine or open_to_take):
            raise Http404
    return invitation
