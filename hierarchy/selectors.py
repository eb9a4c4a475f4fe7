"""Reads of the hierarchy: invitations from the invitee's side, across organizations;
a person's profile and personal API tokens; which cycle is current; what a form offers
to pick.

An invitee is not a member of the organization that invited them, so the invitations'
reads run in `system_scope` (okrplan/lib/tenancy.py) and filter by the invitee
themselves: their own invitations, nothing else. A foreign id or an unknown token is a
404, like a missing one.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404
from django.utils import timezone

from hierarchy.models import (
    Cycle,
    Department,
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    PersonalToken,
    Profile,
)
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


# --- Cycles: which one is current ------------------------------------------------------


def cycles_with_current(queryset: QuerySet, today: date | None = None) -> QuerySet:
    """`queryset` of cycles, each annotated `is_current`: the one rule of which cycle is
    current on `today` (default: the local date), used by every page and list.

    Of the cycles not archived that contain `today`, the one that started last; on the
    same start, the one made last (the higher id). Cycles may overlap (warned, not
    refused: docs/decisions.md, issue 14), and still one of them is current. A subquery,
    not a query of its own: a page that lists or shows cycles learns it from the same
    statement."""
    today = today or timezone.localdate()
    running = Q(archived_at__isnull=True, start__lte=today, end__gte=today)
    later = Cycle.objects.filter(running, organization_id=OuterRef("organization_id")).filter(
        Q(start__gt=OuterRef("start")) | Q(start=OuterRef("start"), pk__gt=OuterRef("pk"))
    )
    return queryset.annotate(
        is_current=ExpressionWrapper(running & ~Exists(later), output_field=BooleanField())
    )


def cycle_current(*, org, today: date | None = None) -> Cycle | None:
    """The organization's current cycle (`cycles_with_current`), or None."""
    cycles = cycles_with_current(Cycle.objects.filter(organization=org), today)
    return cycles.filter(is_current=True).first()


def cycle_overlapping(*, cycle: Cycle) -> list[Cycle]:
    """The other cycles (not archived) that share at least one day with `cycle`."""
    return list(
        Cycle.objects.filter(
            organization_id=cycle.organization_id,
            archived_at__isnull=True,
            start__lte=cycle.end,
            end__gte=cycle.start,
        )
        .exclude(pk=cycle.pk)
        .order_by("start", "id")
    )


def cycles_active(*, org) -> QuerySet:
    """The cycles a form offers to pick: not archived, newest first."""
    return Cycle.objects.filter(organization=org, archived_at__isnull=True).order_by(
        "-start", "-id"
    )


def departments_active(*, org) -> QuerySet:
    """The departments a form offers to pick: not archived, by name."""
    return Department.objects.filter(organization=org, archived_at__isnull=True).order_by("name")


# --- The admin's first-run setup guide -------------------------------------------------


@dataclass(frozen=True)
class SetupStep:
    key: str  # "departments", "cycle", "invitations"
    done: bool


@dataclass(frozen=True)
class SetupProgress:
    steps: list[SetupStep]

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def complete(self) -> bool:
        return self.done == self.total


def org_setup_progress(*, org) -> SetupProgress:
    """Where the organization is in its first-run setup, from its data (one query): a
    department (each has its lead), a cycle, and someone invited (or another member)."""
    members = (
        Membership.objects.filter(organization=OuterRef("pk"))
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    row = (
        Organization.objects.filter(pk=org.pk)
        .annotate(
            departments=Exists(
                Department.objects.filter(organization=OuterRef("pk"), archived_at__isnull=True)
            ),
            cycle=Exists(Cycle.objects.filter(organization=OuterRef("pk"))),
            invitations=Exists(
                Invitation.objects.filter(organization=OuterRef("pk")).exclude(
                    status=InvitationStatus.WITHDRAWN
                )
            ),
            members=Subquery(members),
        )
        .values("departments", "cycle", "invitations", "members")
        .get()
    )
    return SetupProgress(
        steps=[
            SetupStep("departments", bool(row["departments"])),
            SetupStep("cycle", bool(row["cycle"])),
            SetupStep("invitations", bool(row["invitations"] or (row["members"] or 0) > 1)),
        ]
    )
