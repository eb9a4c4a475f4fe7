"""Reads of a person's own: their invitations (from the invitee's side, across
organizations), their profile and their personal API tokens.

An invitee is not a member of the organization that invited them, so these read in
`system_scope` (okrplan/lib/tenancy.py) and filter by the invitee themselves: their own
invitations, nothing else. A foreign id or an unknown token is a 404, like a missing one.
"""

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from hierarchy.models import Invitation, InvitationStatus, PersonalToken, Profile
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


# --- A person's own account ---------------------------------------------------------


def profile_get(*, user) -> Profile:
    """`user`'s profile; an unsaved one with the defaults if they never saved theirs."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)


def personal_token_list(*, user) -> list[PersonalToken]:
    """`user`'s personal API tokens, newest first (their keys are not stored)."""
    return list(PersonalToken.objects.filter(user=user).order_by("-created_at", "-id"))


def personal_token_of(*, user, token_id) -> PersonalToken:
    """One of `user`'s personal tokens, or 404 (somebody else's is as missing)."""
    try:
        return PersonalToken.objects.get(pk=int(token_id), user=user)
    except (PersonalToken.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
