"""Writes of the hierarchy app. Keyword-only, atomic, the only place rows change."""

import re
import secrets
import unicodedata
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, ProtectedError, Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from rest_framework.authtoken.models import Token

from hierarchy.events import (
    FunnelReordered,
    InvitationClosed,
    InvitationCreated,
    KeyResultCreated,
    KeyResultDeleted,
    KeyResultMoved,
    KeyResultsArchived,
    KeyResultsArchiving,
    KeyResultWriting,
    MemberDutiesAsked,
)
from hierarchy.models import (
    CYCLE_DAY_MESSAGE,
    PERSONAL_TOKEN_PREFIX,
    Aggregation,
    Cycle,
    Department,
    Dependency,
    Invitation,
    InvitationStatus,
    KeyResult,
    Membership,
    MetricKind,
    NotifyBy,
    Objective,
    Organization,
    PersonalToken,
    Profile,
    Role,
    validate_cycle_day,
)
from hierarchy.periods import alignment_meeting_default, midcycle_check_default
from hierarchy.permissions import (
    contribution_require_edit,
    kr_require_archive,
    kr_require_edit,
    kr_require_move,
    objective_require_edit,
    structure_require_change,
)
from hierarchy.timezones import time_zone_exists
from okrplan.lib.events import publish
from okrplan.lib.numbers import num
from okrplan.lib.text import one_line_values_check
from okrplan.lib.usernames import user_find, username_taken

User = get_user_model()


@transaction.atomic
def user_register(
    *, username: str, email: str, password: str, invitation_token: str | None = None
) -> tuple[User, str]:
    """A new account and its API token. With `invitation_token` (the e-mailed link of
    an invitation by e-mail), the invitation becomes the new account's to answer."""
    invitation = None
    if invitation_token is not None:
        invitation = _invitation_claimable(invitation_token)
        if invitation is None:
            raise ValidationError({"invitation": ["This invitation link is not valid (any more)."]})
    if username_taken(username):  # full-width, mathematical, upper case: one key
        raise ValidationError({"username": ["This username is taken."]})
    user = User(username=username, email=email)
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    user.full_clean()
    user.save()
    token = Token.objects.create(user=user)
    if invitation is not None:
        Invitation.objects.filter(pk=invitation.pk, invitee__isnull=True).update(invitee=user)
    return user, token.key


# --- A person's own account: the profile and personal API tokens ----------------------

PERSONAL_TOKENS_MAX = 50  # a person's tokens at a time: one per script or machine


@transaction.atomic
def profile_update(
    *,
    user: User,
    first_name: str,
    last_name: str,
    email: str,
    time_zone: str,
    notify_by: str,
) -> Profile:
    """A person's display name (first and last name), e-mail address, time zone and how
    they hear of notifications. The profile is created the first time it is saved."""
    first_name, last_name, email = first_name.strip(), last_name.strip(), email.strip()
    errors: dict[str, list[str]] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        try:
            one_line_values_check({field: value})
        except ValidationError as error:
            errors.update(error.message_dict)
    if not email:
        errors["email"] = ["Give an e-mail address: password resets and e-mail go there."]
    if time_zone and not time_zone_exists(time_zone):
        errors["time_zone"] = ["Choose a time zone from the list."]
    if notify_by not in NotifyBy.values:
        errors["notify_by"] = ["Choose how you hear of notifications."]
    fields = ("first_name", "last_name", "email")
    before = [getattr(user, field) for field in fields]
    user.first_name, user.last_name, user.email = first_name, last_name, email
    try:
        user.clean_fields(exclude=[f.name for f in User._meta.fields if f.name not in fields])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, messages)
    if errors:
        for field, value in zip(fields, before, strict=True):
            setattr(user, field, value)  # the caller's instance as it was
        raise ValidationError(errors)
    user.save(update_fields=list(fields))
    profile, _ = Profile.objects.update_or_create(
        user=user, defaults={"time_zone": time_zone, "notify_by": notify_by}
    )
    return profile


@transaction.atomic
def personal_token_create(*, user: User, name: str) -> tuple[PersonalToken, str]:
    """A new personal API token and its key, which is not stored (only its hash): the
    caller shows it once."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Name the token (what or where it is used)."]})
    mine = PersonalToken.objects.select_for_update().filter(user=user)
    if mine.filter(name=name).exists():
        raise ValidationError({"name": ["You have a token of this name already."]})
    if mine.count() >= PERSONAL_TOKENS_MAX:
        raise ValidationError(
            {"name": [f"You have {PERSONAL_TOKENS_MAX} tokens: revoke one you no longer use."]}
        )
    key = PERSONAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken(
        user=user,
        name=name,
        prefix=key[: len(PERSONAL_TOKEN_PREFIX) + 6],
        key_hash=PersonalToken.digest(key),
    )
    token.full_clean()
    token.save()
    return token, key


@transaction.atomic
def personal_token_revoke(*, token: PersonalToken) -> None:
    """Revoked is deleted: the next request with its key answers 401."""
    PersonalToken.objects.filter(pk=token.pk).delete()


def organization_slug_suggest(name: str) -> str:
    """A slug for an organization named `name` (lower-case letters, digits and inner
    hyphens, at most 50 characters): "Acme Corp." → "acme-corp"; empty when the name has
    nothing to make one of (only punctuation, or letters that do not transliterate)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


SLUG_MAX = 50  # Organization.slug


@transaction.atomic
def organization_create(*, name: str, slug: str, actor: User) -> Organization:
    """A new organization whose only member is `actor`, its admin."""
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": ["This slug is taken; choose another."]})
    org = Organization(name=name, slug=slug)
    org.full_clean()
    org.save()
    Membership.objects.create(organization=org, user=actor, role=Role.ADMIN)
    return org


@transaction.atomic
def organization_settings_update(*, org: Organization, **fields) -> Organization:
    for name, value in fields.items():
        setattr(org, name, value)
    org.full_clean()
    org.save(update_fields=list(fields))
    return org


# --- Invitations ----------------------------------------------------------------
# Nobody becomes a member without saying yes (API.md §Invitations): an admin invites by
# username or e-mail, the same answer whether or not the person exists; the invitee
# accepts or declines (hierarchy/invitations.py reads theirs across organizations).


def invitation_token_new() -> str:
    return secrets.token_urlsafe(32)


def _invitation_claimable(token: str) -> Invitation | None:
    """The pending, unexpired invitation by e-mail of link `token` that nobody holds yet."""
    return (
        Invitation.objects.select_for_update()
        .filter(token=str(token), status=InvitationStatus.PENDING, expires_at__gt=timezone.now())
        .exclude(email="")
        .filter(invitee__isnull=True)
        .first()
    )


@transaction.atomic
def invitation_create(
    *, org: Organization, actor: User, role: str, username: str = "", email: str = ""
) -> Invitation:
    """A pending invitation. Nothing of the person is read back to the organization: the
    answer and the errors are the same whether `username` names an account or not."""
    username = unicodedata.normalize("NFKC", username).strip()
    email = email.strip()
    field = "username" if username else "email"
    if bool(username) == bool(email):
        raise ValidationError({field: ["Give a username or an e-mail address."]})
    now = timezone.now()
    pending = Invitation.objects.filter(
        organization=org, status=InvitationStatus.PENDING, expires_at__gt=now
    )
    invitee = user_find(username) if username else None
    members = Membership.objects.filter(organization=org)
    if username:
        if invitee is not None and members.filter(user=invitee).exists():
            raise ValidationError({"username": [f"{username} is already a member."]})
        if pending.filter(username__iexact=username).exists():
            raise ValidationError({"username": [f"{username} has a pending invitation already."]})
    else:
        if members.filter(user__email__iexact=email).exists():
            raise ValidationError({"email": [f"{email} is already a member's address."]})
        if pending.filter(email__iexact=email).exists():
            raise ValidationError({"email": [f"{email} has a pending invitation already."]})
    invitation = Invitation(
        organization=org,
        username=username,
        email=email,
        role=role,
        invitee=invitee,
        invited_by=actor,
        token=invitation_token_new(),
        expires_at=now + timedelta(days=settings.INVITATION_DAYS),
    )
    invitation.full_clean(exclude=["organization", "invitee", "invited_by", "token"])
    invitation.save()
    publish(InvitationCreated(invitation_id=invitation.pk, organization_id=org.pk))
    return invitation


def _invitation_locked(invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().select_related("organization")
    return locked.get(pk=invitation.pk)


def _invitation_open(invitation: Invitation) -> None:
    state = invitation.state
    if state == InvitationStatus.EXPIRED:
        when = timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d %H:%M")
        raise ValidationError({"detail": [f"This invitation expired on {when}."]})
    if state != InvitationStatus.PENDING:
        raise ValidationError({"detail": [f"This invitation was {state} already."]})


@transaction.atomic
def invitation_answer(*, invitation: Invitation, user: User, accept: bool) -> Invitation:
    """The invitee's yes (a membership from now on) or no. An invitation by e-mail that
    nobody holds yet becomes `user`'s (whoever opened the e-mailed link)."""
    invitation = _invitation_locked(invitation)
    if invitation.invitee_id not in (None, user.pk) or (
        invitation.invitee_id is None and not invitation.email
    ):
        raise ValidationError({"detail": ["This invitation is for someone else."]})
    _invitation_open(invitation)
    if accept:
        Membership.objects.get_or_create(
            organization_id=invitation.organization_id,
            user=user,
            defaults={"role": invitation.role},
        )
    invitation.invitee = user
    invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["invitee", "status", "answered_at"])
    publish(
        InvitationClosed(invitation_id=invitation.pk, organization_id=invitation.organization_id)
    )
    return invitation


@transaction.atomic
def invitation_withdraw(*, invitation: Invitation) -> None:
    invitation = _invitation_locked(invitation)
    if invitation.state != InvitationStatus.PENDING:
        raise ValidationError(
            {
                "detail": [
                    f"Only a pending invitation can be withdrawn; this one is {invitation.state}."
                ]
            }
        )
    invitation.status = InvitationStatus.WITHDRAWN
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    publish(
        InvitationClosed(
            invitation_id=invitation.pk,
            organization_id=invitation.organization_id,
            withdrawn=True,
        )
    )


def _ensure_another_admin(membership: Membership, field: str) -> None:
    others = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise ValidationError({field: ["An organization needs at least one admin."]})


# --- Viewers read only: they lead no department and own no KR or objective ---------

_DUTY = {"lead": "lead a department", "owner": "own a key result"}


def require_not_viewer(*, organization_id: int, user: User, field: str, duty: str = "") -> None:
    """A department's lead and a KR's or an objective's owner get work (steps, reviews,
    reminders) that a viewer may not answer: 400 naming the field when `user` is a viewer."""
    if Membership.objects.filter(
        organization_id=organization_id, user=user, role=Role.VIEWER
    ).exists():
        duty = duty or _DUTY[field]
        raise ValidationError(
            {
                field: [
                    f"{user.username} is a viewer: viewers read only, so they cannot {duty}. "
                    "Make them a member first."
                ]
            }
        )


def _duties(*, organization_id: int, user_ids) -> list[tuple[str, str]]:
    """What these users lead or own in an organization, as (kind, words): ("lead",
    "ann leads Sales"), ("owner", "ann owns “Pipeline”"), ("owner", "ann owns the
    objective “Grow”")."""
    led = Department.objects.filter(organization_id=organization_id, lead_id__in=user_ids)
    owned = KeyResult.objects.filter(organization_id=organization_id, owner_id__in=user_ids)
    objectives = Objective.objects.filter(organization_id=organization_id, owner_id__in=user_ids)
    return [
        *(
            ("lead", f"{d.lead.username} leads {d.name}")
            for d in led.select_related("lead").order_by("name")
        ),
        *(
            ("owner", f"{k.owner.username} owns “{k.title}”")
            for k in owned.select_related("owner").order_by("id")[:5]
        ),
        *(
            ("owner", f"{o.owner.username} owns the objective “{o.title}”")
            for o in objectives.select_related("owner").order_by("id")[:5]
        ),
    ]


def duties_of(*, organization_id: int, user_ids) -> list[str]:
    """What these users lead or own in an organization ("ann leads Sales")."""
    return [words for _, words in _duties(organization_id=organization_id, user_ids=user_ids)]


def viewer_duties(*, organization_id: int) -> list[str]:
    """What viewers of an organization lead or own: empty when the rule holds."""
    viewer_ids = Membership.objects.filter(
        organization_id=organization_id, role=Role.VIEWER
    ).values_list("user_id", flat=True)
    return duties_of(organization_id=organization_id, user_ids=list(viewer_ids))


def member_duties(membership: Membership) -> tuple[list[str], str]:
    """What is still a member's in their organization (what they lead and own, and what
    the higher apps add: their open steps), and what to do about it ("name a new lead")."""
    asked = MemberDutiesAsked(
        organization_id=membership.organization_id,
        user_id=membership.user_id,
        username=membership.user.username,
    )
    asked.duties.extend(
        _duties(organization_id=membership.organization_id, user_ids=[membership.user_id])
    )
    publish(asked)
    kinds = {kind for kind, _ in asked.duties}
    named = [f"a new {kind}" for kind in ("lead", "owner") if kind in kinds]
    todo = [f"name {' and '.join(named)}"] if named else []
    if "step" in kinds:
        todo.append("let them answer their open steps")
    return [words for _, words in asked.duties], "; ".join(todo)


@transaction.atomic
def membership_update(*, membership: Membership, role: str) -> Membership:
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        _ensure_another_admin(membership, "role")
    if role == Role.VIEWER and membership.role != Role.VIEWER:
        duties, todo = member_duties(membership)
        if duties:
            raise ValidationError(
                {
                    "role": [
                        f"{membership.user.username} cannot become a viewer (viewers read "
                        f"only): {'; '.join(duties)}. {todo[0].upper()}{todo[1:]} first."
                    ]
                }
            )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    """Only someone who holds nothing any more leaves: what they lead, own or must answer
    would otherwise be nobody's (or still theirs, without access)."""
    if membership.role == Role.ADMIN:
        _ensure_another_admin(membership, "username")
    duties, todo = member_duties(membership)
    if duties:
        raise ValidationError({"username": [f"{'; '.join(duties)}: {todo}."]})
    membership.delete()


def _check_department_parent(department: Department, parent: Department | None) -> None:
    seen = set()
    node = parent
    while node is not None:
        if node.pk == department.pk or node.pk in seen:
            raise ValidationError(
                {
                    "parent": [
                        "A department cannot be placed under itself or its own sub-department."
                    ]
                }
            )
        seen.add(node.pk)
        node = node.parent


def require_not_archived(obj: Department | Cycle | None, field: str) -> None:
    """Nothing new goes into an archived department or cycle (a sub-department, an
    objective, a key result): 400 naming the field. What is there already stays."""
    if obj is not None and obj.archived_at is not None:
        kind = "department" if isinstance(obj, Department) else "cycle"
        raise ValidationError(
            {field: [f"The {kind} {obj.name} is archived: restore it first, or choose another."]}
        )


@transaction.atomic
def department_create(
    *, org: Organization, name: str, lead: User, parent: Department | None = None
) -> Department:
    if Department.objects.filter(organization=org, name__iexact=name).exists():
        raise ValidationError({"name": [f"A department named {name!r} exists already."]})
    require_not_archived(parent, "parent")
    require_not_viewer(organization_id=org.pk, user=lead, field="lead")
    department = Department(organization=org, name=name, lead=lead, parent=parent)
    department.full_clean(exclude=["organization", "lead", "parent"])
    department.save()
    return department


@transaction.atomic
def department_update(*, department: Department, **fields) -> Department:
    name = fields.get("name")
    if (
        name is not None
        and Department.objects.filter(organization_id=department.organization_id, name__iexact=name)
        .exclude(pk=department.pk)
        .exists()
    ):
        raise ValidationError({"name": [f"A department named {name!r} exists already."]})
    if "parent" in fields:
        _check_department_parent(department, fields["parent"])
        if fields["parent"] is not None and fields["parent"].pk != department.parent_id:
            require_not_archived(fields["parent"], "parent")
    if "lead" in fields and fields["lead"].pk != department.lead_id:
        require_not_viewer(
            organization_id=department.organization_id, user=fields["lead"], field="lead"
        )
    for key, value in fields.items():
        setattr(department, key, value)
    department.full_clean(exclude=["organization", "lead", "parent"])
    department.save()
    return department


def _counted(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@transaction.atomic
def department_delete(*, department: Department) -> None:
    """Only an empty department goes: one with sub-departments, key results or
    objectives is refused (they would lose it); archive it instead."""
    if department.children.exists():
        raise ValidationError({"detail": ["Move or delete its sub-departments first."]})
    org_id = department.organization_id
    krs = KeyResult.objects.filter(organization_id=org_id, department=department).count()
    objectives = Objective.objects.filter(organization_id=org_id, department=department).count()
    if krs or objectives:
        held = " and ".join(
            _counted(n, w) for n, w in ((krs, "key result"), (objectives, "objective")) if n
        )
        raise ValidationError(
            {
                "detail": [
                    f"{department.name} has {held}: it cannot be deleted. Move them to "
                    f"another department first, or archive {department.name} (what it has "
                    "stays readable)."
                ]
            }
        )
    department.delete()


@transaction.atomic
def department_archive(*, department: Department) -> Department:
    """Out of the lists that pick a department; its key results and objectives stay."""
    department = Department.objects.select_for_update().get(pk=department.pk)
    if department.archived_at is not None:
        raise ValidationError({"detail": [f"{department.name} is archived already."]})
    active_children = department.children.filter(archived_at__isnull=True)
    if active_children.exists():
        names = ", ".join(active_children.order_by("name").values_list("name", flat=True)[:5])
        raise ValidationError(
            {
                "detail": [
                    f"{department.name} has sub-departments that are not archived ({names}): "
                    "archive or move them first."
                ]
            }
        )
    department.archived_at = timezone.now()
    department.save(update_fields=["archived_at"])
    return department


@transaction.atomic
def department_restore(*, department: Department) -> Department:
    department = (
        Department.objects.select_for_update(of=("self",))
        .select_related("parent")
        .get(pk=department.pk)
    )
    if department.archived_at is None:
        raise ValidationError({"detail": [f"{department.name} is not archived."]})
    if department.parent is not None and department.parent.archived_at is not None:
        raise ValidationError(
            {
                "detail": [
                    f"{department.name} is part of {department.parent.name}, which is "
                    f"archived: restore {department.parent.name} first."
                ]
            }
        )
    department.archived_at = None
    department.save(update_fields=["archived_at"])
    return department


# --- Cycles -----------------------------------------------------------------

MAX_CYCLE_DAYS = 371  # a year and a week: 53 weekly periods at most


CYCLE_DAYS = ("start", "end", "refine_start", "refine_end", "alignment_meeting", "midcycle_check")


def _check_cycle_days(days: dict[str, date | None]) -> None:
    """Each day between CYCLE_FIRST_DAY and CYCLE_LAST_DAY, before anything is derived
    from it (a start of 9999-12-25 made the default alignment meeting overflow: 500)."""
    errors = {}
    for field, day in days.items():
        try:
            validate_cycle_day(day)
        except ValidationError:
            errors[field] = [CYCLE_DAY_MESSAGE]
    if errors:
        raise ValidationError(errors)


def _validate_cycle_dates(cycle: Cycle) -> None:
    _check_cycle_days({field: getattr(cycle, field) for field in CYCLE_DAYS})
    errors: dict[str, list[str]] = {}
    if cycle.end < cycle.start:
        errors["end"] = ["The cycle must end on or after its start."]
    elif (cycle.end - cycle.start).days + 1 > MAX_CYCLE_DAYS:
        errors["end"] = [f"A cycle lasts at most {MAX_CYCLE_DAYS} days."]
    if (cycle.refine_start is None) != (cycle.refine_end is None):
        field = "refine_end" if cycle.refine_end is None else "refine_start"
        errors[field] = ["Give both ends of the refine window, or neither."]
    elif cycle.refine_start and cycle.refine_end < cycle.refine_start:
        errors["refine_end"] = ["The refine window must end on or after its start."]
    if not errors:
        # The refine window is when the plans are drafted and submitted, before the
        # alignment meeting of the same cycle: inside the cycle (docs/decisions.md).
        for field in ("refine_start", "refine_end"):
            day = getattr(cycle, field)
            if day is not None and not cycle.start <= day <= cycle.end:
                errors[field] = [
                    f"The refine window lies inside the cycle ({cycle.start} to {cycle.end})."
                ]
        for field in ("alignment_meeting", "midcycle_check"):
            day = getattr(cycle, field)
            if not cycle.start <= day <= cycle.end:
                errors[field] = [f"Must fall inside the cycle ({cycle.start} to {cycle.end})."]
    if errors:
        raise ValidationError(errors)


def _check_cycle_not_duplicate(cycle: Cycle) -> None:
    """Two cycles (not archived) with the same start and end are one cycle twice: 400
    naming `start`. Cycles that only overlap are allowed, and warned of
    (`selectors.cycle_overlapping`)."""
    twin = (
        Cycle.objects.filter(
            organization_id=cycle.organization_id,
            start=cycle.start,
            end=cycle.end,
            archived_at__isnull=True,
        )
        .exclude(pk=cycle.pk)
        .order_by("id")
        .first()
    )
    if twin is not None:
        raise ValidationError(
            {
                "start": [
                    f"{twin.name} has the same dates ({cycle.start} to {cycle.end}): change "
                    f"the dates, or edit or archive {twin.name} instead."
                ]
            }
        )


def cycle_default_days(start: date, end: date) -> dict[str, date]:
    """The alignment meeting and the mid-cycle check a cycle gets when none is given:
    day 11 and the first day of week 6 (SPEC.md §2), the end at the latest."""
    return {
        "alignment_meeting": min(alignment_meeting_default(start), end),
        "midcycle_check": min(midcycle_check_default(start), end),
    }


@transaction.atomic
def cycle_create(
    *,
    org: Organization,
    name: str,
    start: date,
    end: date,
    granularity: str,
    refine_start: date | None = None,
    refine_end: date | None = None,
    alignment_meeting: date | None = None,
    midcycle_check: date | None = None,
) -> Cycle:
    if Cycle.objects.filter(organization=org, name__iexact=name).exists():
        raise ValidationError({"name": [f"A cycle named {name!r} exists already."]})
    _check_cycle_days(
        {
            "start": start,
            "end": end,
            "refine_start": refine_start,
            "refine_end": refine_end,
            "alignment_meeting": alignment_meeting,
            "midcycle_check": midcycle_check,
        }
    )
    defaults = cycle_default_days(start, end)
    cycle = Cycle(
        organization=org,
        name=name,
        start=start,
        end=end,
        granularity=granularity,
        refine_start=refine_start,
        refine_end=refine_end,
        alignment_meeting=alignment_meeting or defaults["alignment_meeting"],
        midcycle_check=midcycle_check or defaults["midcycle_check"],
    )
    _validate_cycle_dates(cycle)
    _check_cycle_not_duplicate(cycle)
    cycle.save()
    return cycle


@transaction.atomic
def cycle_update(*, cycle: Cycle, **fields) -> Cycle:
    """Change a cycle's name, dates or periods (the periods are fixed once it has key
    results). Validated like `cycle_create`; `alignment_meeting=None` or
    `midcycle_check=None` puts that day back to its default."""
    period_fields = {"start", "end", "granularity"} & set(fields)
    if any(fields[f] != getattr(cycle, f) for f in period_fields) and (
        KeyResult.objects.filter(organization_id=cycle.organization_id, cycle=cycle).exists()
    ):
        field = sorted(period_fields)[0]
        raise ValidationError(
            {
                field: [
                    "The periods are fixed once the cycle has key results (their plans use them)."
                ]
            }
        )
    name = fields.get("name")
    if (
        name
        and Cycle.objects.filter(organization_id=cycle.organization_id, name__iexact=name)
        .exclude(pk=cycle.pk)
        .exists()
    ):
        raise ValidationError({"name": [f"A cycle named {name!r} exists already."]})
    for key, value in fields.items():
        setattr(cycle, key, value)
    # None for the alignment meeting or the mid-cycle check: the default day again
    defaulted = [
        f for f in ("alignment_meeting", "midcycle_check") if f in fields and not fields[f]
    ]
    if defaulted:
        _check_cycle_days({"start": cycle.start, "end": cycle.end})  # before days derive
        for field in defaulted:
            setattr(cycle, field, cycle_default_days(cycle.start, cycle.end)[field])
    _validate_cycle_dates(cycle)
    if cycle.archived_at is None:
        _check_cycle_not_duplicate(cycle)
    cycle.save(update_fields=list(fields))  # not archived_at: that is archive's and restore's
    return cycle


@transaction.atomic
def cycle_delete(*, cycle: Cycle) -> None:
    """Only an empty cycle goes: one with objectives is refused; archive it instead."""
    org_id = cycle.organization_id
    objectives = Objective.objects.filter(organization_id=org_id, cycle=cycle).count()
    krs = KeyResult.objects.filter(organization_id=org_id, cycle=cycle).count()
    if objectives or krs:
        held = " and ".join(
            _counted(n, w) for n, w in ((objectives, "objective"), (krs, "key result")) if n
        )
        raise ValidationError(
            {
                "detail": [
                    f"{cycle.name} has {held}: it cannot be deleted. Delete them first, or "
                    f"archive {cycle.name} (what it has stays readable)."
                ]
            }
        )
    cycle.delete()


@transaction.atomic
def cycle_archive(*, cycle: Cycle) -> Cycle:
    """Out of the cycle lists by default, and never current; its data stays readable."""
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.archived_at is not None:
        raise ValidationError({"detail": [f"{cycle.name} is archived already."]})
    cycle.archived_at = timezone.now()
    cycle.save(update_fields=["archived_at"])
    return cycle


@transaction.atomic
def cycle_restore(*, cycle: Cycle) -> Cycle:
    """Back in the lists; refused while another cycle has the same dates."""
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.archived_at is None:
        raise ValidationError({"detail": [f"{cycle.name} is not archived."]})
    _check_cycle_not_duplicate(cycle)
    cycle.archived_at = None
    cycle.save(update_fields=["archived_at"])
    return cycle


# --- Objectives -------------------------------------------------------------

_OBJECTIVE_DUTY = "own an objective"  # its owner is asked about its key results' work


@transaction.atomic
def objective_create(
    *,
    org: Organization,
    cycle: Cycle,
    title: str,
    owner: User,
    department: Department | None = None,
) -> Objective:
    require_not_archived(cycle, "cycle")
    require_not_archived(department, "department")
    require_not_viewer(organization_id=org.pk, user=owner, field="owner", duty=_OBJECTIVE_DUTY)
    return Objective.objects.create(
        organization=org,
        cycle=cycle,
        title=title,
        owner=owner,
        department=department,
        position=_next_position(Objective.objects.filter(organization=org, cycle=cycle)),
    )


def _next_position(siblings) -> int:
    """After the last of `siblings` (a new objective or KR goes at the end)."""
    last = siblings.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


@transaction.atomic
def objective_update(*, objective: Objective, **fields) -> Objective:
    if "owner" in fields and fields["owner"].pk != objective.owner_id:
        require_not_viewer(
            organization_id=objective.organization_id,
            user=fields["owner"],
            field="owner",
            duty=_OBJECTIVE_DUTY,
        )
    department = fields.get("department")
    if department is not None and department.pk != objective.department_id:
        require_not_archived(department, "department")
    for key, value in fields.items():
        setattr(objective, key, value)
    objective.save()
    return objective


@transaction.atomic
def objective_delete(*, objective: Objective) -> None:
    if objective.key_results.exists():
        raise ValidationError({"detail": ["Delete or move its key results first."]})
    objective.delete()


# --- Key results ------------------------------------------------------------

MAX_DEPTH = 8
WEIGHT_DECIMALS = 4  # KeyResult.weight: 8 digits, 4 of them decimal places
MAX_WEIGHT = 10_000
MAX_ABS_VALUE = Decimal("1e15")
_CURRENCIES = {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "INR", "BRL"}


def decimals_for_unit(unit: str) -> int:
    """The default precision of a unit: money and percentages 2, points 1, counts 0."""
    cleaned = unit.strip()
    if cleaned.upper() in _CURRENCIES or cleaned in {"%", "percent", "$", "€", "£"}:
        return 2
    if cleaned.lower() in {"points", "point", "pts", "score"}:
        return 1
    return 0


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def validate_number(field: str, value: Decimal, decimals: int, unit: str = "") -> None:
    """Finite, not huge, and at the unit's precision."""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if not value.is_finite():
        raise ValidationError({field: ["Must be a finite number."]})
    if abs(value) >= MAX_ABS_VALUE:
        raise ValidationError({field: [f"Must be smaller than {MAX_ABS_VALUE:,.0f} in size."]})
    if _places(value) > decimals:
        where = f" for {unit}" if unit else ""
        raise ValidationError(
            {field: [f"Use at most {decimals} decimal places{where} (got {value})."]}
        )


def validate_target(kr: KeyResult, target: Decimal, field: str = "target") -> None:
    """The one rule of what a KR may aim at, wherever its target is set (the KR's
    creation and changes, and every plan save, which carries the target: SPEC.md §2):

    - cumulative: a flow's total, never negative;
    - parallel: beyond its start value. Its contributions claim how much they move its
      metric ("+8 NPS points") and SPEC.md §3/§4 compare the claims with the improvement
      needed (target − start value): at or below the start value, every claim would be
      "double counted" and none short (docs/decisions.md, issue 16 §5).

    `field` is the input the error is about: the target, the plan's values, or the start
    value or aggregation that was just changed."""
    if kr.metric_kind == MetricKind.CUMULATIVE and target < 0:
        raise ValidationError(
            {field: ["A cumulative key result counts a flow: its target cannot be negative."]}
        )
    if kr.aggregation == Aggregation.PARALLEL and target <= kr.start_value:
        unit = f" {kr.unit}".rstrip()
        raise ValidationError(
            {
                field: [
                    "Its contributions combine in parallel, each claiming how much it raises "
                    f"the metric: its target ({num(target)}{unit}) must be above its start "
                    f"value ({num(kr.start_value)}{unit})."
                ]
            }
        )


def _validate_kr(kr: KeyResult, changed: str = "target") -> None:
    """The structural rules of SPEC.md §2, each error naming its field (`changed`: the
    field whose change the target rule would refuse)."""
    parent = kr.parent
    for field in ("target", "start_value"):
        validate_number(field, getattr(kr, field), kr.decimals, kr.unit)
    validate_target(kr, kr.target, changed)
    # The stored precision (4 places): 1e-30 would be stored as 0 and leave the
    # objective's weighted progress undefined.
    validate_number("weight", kr.weight, WEIGHT_DECIMALS)
    if kr.weight <= 0:
        raise ValidationError({"weight": ["Must be greater than 0."]})
    if kr.weight >= MAX_WEIGHT:
        raise ValidationError({"weight": [f"Must be smaller than {MAX_WEIGHT:,}."]})
    if kr.objective.cycle_id != kr.cycle_id:
        raise ValidationError({"objective": ["The objective belongs to another cycle."]})
    if kr.archived_at is None and kr.objective.archived_at is not None:
        raise ValidationError(
            {"objective": [f"“{kr.objective.title}” is archived: restore it first."]}
        )
    if kr.archived_at is None and parent is not None and parent.archived_at is not None:
        raise ValidationError({"parent": [f"“{parent.title}” is archived: restore it first."]})
    if parent is not None:
        if parent.cycle_id != kr.cycle_id:
            raise ValidationError(
                {"parent": [f"The parent belongs to another cycle ({parent.cycle})."]}
            )
        if kr.pk is not None and (parent.pk == kr.pk or kr.pk in parent.ancestor_ids):
            raise ValidationError(
                {"parent": ["A key result cannot be its own ancestor (that would make a loop)."]}
            )
        if len(parent.ancestor_ids) + 1 >= MAX_DEPTH:
            raise ValidationError({"parent": [f"Key results nest at most {MAX_DEPTH} deep."]})
        if parent.aggregation == Aggregation.ADDITIVE and kr.unit != parent.unit:
            raise ValidationError(
                {"unit": [f"Children of an additive key result count in its unit ({parent.unit})."]}
            )
    sequential = parent is not None and parent.aggregation == Aggregation.SEQUENTIAL
    if sequential and kr.stage is None:
        raise ValidationError(
            {"stage": ["A stage of a sequential key result needs its stage number (1, 2, 3 …)."]}
        )
    if not sequential and kr.stage is not None:
        raise ValidationError({"stage": ["Only children of a sequential key result have a stage."]})
    if sequential and (
        KeyResult.objects.filter(organization_id=kr.organization_id, parent=parent, stage=kr.stage)
        .exclude(pk=kr.pk)
        .exists()
    ):
        raise ValidationError({"stage": [f"Stage {kr.stage} of this funnel exists already."]})
    if kr.historical_ratio is not None:
        if not sequential:
            raise ValidationError(
                {"historical_ratio": ["Only stages of a sequential key result have a ratio."]}
            )
        if not (0 < kr.historical_ratio <= 1):
            raise ValidationError({"historical_ratio": ["Must be greater than 0 and at most 1."]})
    if kr.claimed_impact is not None:
        if parent is None or parent.aggregation != Aggregation.PARALLEL:
            raise ValidationError(
                {"claimed_impact": ["Only children of a parallel key result claim an impact."]}
            )
        validate_number("claimed_impact", kr.claimed_impact, 6)


def kr_refresh_cross_functional(*, parent_ids) -> None:
    """A KR whose children belong to two or more departments is cross-functional."""
    for parent_id in {pid for pid in parent_ids if pid is not None}:
        departments = (
            KeyResult.objects.filter(parent_id=parent_id).values("department_id").distinct().count()
        )
        KeyResult.objects.filter(pk=parent_id).update(cross_functional=departments >= 2)


@transaction.atomic
def kr_create(
    *,
    org: Organization,
    objective: Objective,
    title: str,
    owner: User,
    department: Department,
    unit: str,
    metric_kind: str,
    target: Decimal,
    start_value: Decimal = Decimal(0),
    decimals: int | None = None,
    parent: KeyResult | None = None,
    aggregation: str = Aggregation.ADDITIVE,
    stage: int | None = None,
    historical_ratio: Decimal | None = None,
    claimed_impact: Decimal | None = None,
    weight: Decimal = Decimal(1),
) -> KeyResult:
    kr = KeyResult(
        organization=org,
        objective=objective,
        cycle_id=objective.cycle_id,
        title=title,
        owner=owner,
        department=department,
        unit=unit,
        decimals=decimals_for_unit(unit) if decimals is None else decimals,
        metric_kind=metric_kind,
        target=target,
        start_value=start_value,
        parent=parent,
        aggregation=aggregation,
        stage=stage,
        historical_ratio=historical_ratio,
        claimed_impact=claimed_impact,
        weight=weight,
        path=f"{parent.path}{parent.pk}/" if parent else "",
    )
    require_not_viewer(organization_id=org.pk, user=owner, field="owner")
    require_not_archived(objective.cycle, "objective")
    require_not_archived(department, "department")
    _validate_kr(kr)
    kr.position = _next_position(
        KeyResult.objects.filter(organization=org, parent=parent)
        if parent is not None
        else KeyResult.objects.filter(organization=org, objective=objective)
    )
    if parent is not None:  # the parent's row is written below: its chain first
        publish(KeyResultWriting(organization_id=org.pk, kr_ids=(*parent.ancestor_ids, parent.pk)))
    kr.save()
    kr_refresh_cross_functional(parent_ids=[kr.parent_id])
    publish(KeyResultCreated(kr_id=kr.pk))
    return kr


KR_STRUCTURE_FIELDS = {
    "title",
    "owner",
    "department",
    "unit",
    "weight",
    "parent",
    "aggregation",
    "stage",
    "historical_ratio",
    "claimed_impact",
    "objective",
}


def kr_update_chain_ids(*, kr: KeyResult, fields: dict) -> list[int]:
    """The KRs whose chains `kr_update(kr=kr, **fields)` touches: the KR's own, and
    with a new parent that parent's (its ancestors' plans are recomputed)."""
    ids = [*kr.ancestor_ids, kr.pk]
    parent = fields.get("parent")
    if parent is not None and parent.pk != kr.parent_id:
        ids += [*parent.ancestor_ids, parent.pk]
    return list(dict.fromkeys(ids))


@transaction.atomic
def kr_update(*, kr: KeyResult, **fields) -> KeyResult:
    """Change what a KR is (not its numbers: the target moves with its plan).

    Writes only the fields it changes (a copy read earlier never writes back a target
    or a path), after the chains it touches are locked (`KeyResultWriting`)."""
    unknown = set(fields) - KR_STRUCTURE_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: ["This field cannot be changed here."]})
    publish(
        KeyResultWriting(
            organization_id=kr.organization_id,
            kr_ids=tuple(kr_update_chain_ids(kr=kr, fields=fields)),
        )
    )
    if "owner" in fields and fields["owner"].pk != kr.owner_id:
        require_not_viewer(organization_id=kr.organization_id, user=fields["owner"], field="owner")
    if "department" in fields and fields["department"].pk != kr.department_id:
        require_not_archived(fields["department"], "department")
    if "objective" in fields and fields["objective"].cycle_id != kr.cycle_id:
        # Refused rather than re-planned: the plan, its revisions, the check-ins and the
        # rounds are per period of the KR's cycle (docs/decisions.md, issue 13 item 6).
        raise ValidationError(
            {
                "objective": [
                    f"“{fields['objective'].title}” belongs to another cycle: a key result's "
                    "plan, check-ins and history are periods of its own cycle, so it cannot "
                    "move there. Create a key result in that cycle instead."
                ]
            }
        )
    old_parent_id, old_department_id = kr.parent_id, kr.department_id
    old_shape = (kr.parent_id, kr.aggregation, kr.stage, kr.claimed_impact)
    for key, value in fields.items():
        setattr(kr, key, value)
    if "objective" in fields:
        kr.cycle_id = kr.objective.cycle_id
    if "aggregation" in fields and fields["aggregation"] != old_shape[1]:
        children = KeyResult.objects.filter(organization_id=kr.organization_id, parent=kr)
        if children.exists():
            raise ValidationError(
                {"aggregation": ["Remove or move the children before changing how they combine."]}
            )
    _validate_kr(kr, "aggregation" if "aggregation" in fields else "target")
    if kr.parent_id != old_parent_id:
        old_prefix = f"{kr.path}{kr.pk}/"
        kr.path = f"{kr.parent.path}{kr.parent.pk}/" if kr.parent else ""
        new_prefix = f"{kr.path}{kr.pk}/"
        KeyResult.objects.filter(
            organization_id=kr.organization_id, path__startswith=old_prefix
        ).update(path=Concat(Value(new_prefix), Substr("path", len(old_prefix) + 1)))
    written = [*fields, *(["cycle"] if "objective" in fields else [])]
    kr.save(update_fields=[*written, *(["path"] if kr.parent_id != old_parent_id else [])])
    if kr.parent_id != old_parent_id or kr.department_id != old_department_id:
        kr_refresh_cross_functional(parent_ids=[old_parent_id, kr.parent_id])
    new_shape = (kr.parent_id, kr.aggregation, kr.stage, kr.claimed_impact)
    if new_shape != old_shape:
        names = ("parent", "aggregation", "stage", "claimed_impact")
        field = next(n for n, a, b in zip(names, old_shape, new_shape, strict=True) if a != b)
        publish(
            KeyResultMoved(
                kr_id=kr.pk,
                old_parent_id=old_parent_id,
                old_stage=old_shape[2],
                old_claimed_impact=old_shape[3],
                field=field,
            )
        )
    return kr


@transaction.atomic
def kr_delete(*, kr: KeyResult) -> None:
    if KeyResult.objects.filter(organization_id=kr.organization_id, parent=kr).exists():
        raise ValidationError({"detail": ["Delete or move its children first."]})
    parent_id, kr_id = kr.parent_id, kr.pk
    # its chain first: its plan goes and its parent's row is written (the one lock order)
    publish(KeyResultWriting(organization_id=kr.organization_id, kr_ids=(*kr.ancestor_ids, kr.pk)))
    was = {
        "target": kr.target,
        "metric_kind": kr.metric_kind,
        "stage": kr.stage,
        "claimed_impact": kr.claimed_impact,
    }
    try:
        kr.delete()
    except ProtectedError:
        raise ValidationError(
            {"detail": ["This key result has a plan history or check-ins, which are kept."]}
        ) from None
    kr_refresh_cross_functional(parent_ids=[parent_id])
    publish(KeyResultDeleted(kr_id=kr_id, parent_id=parent_id, **was))


# --- The structure of a shared KR: its funnel's order, its contributions' figures ---

STAGE_MOVES = {"up": "an earlier", "down": "a later"}


@transaction.atomic
def kr_stage_move(*, kr: KeyResult, direction: str, actor: User | None) -> KeyResult:
    """Move a stage of a sequential KR one place up (earlier in the funnel) or down: it
    swaps its stage number with the neighbouring stage's. The parent owner's and admins'
    (`structure_require_change`).

    The parent's chain is locked first (the one lock order, okrplan/lib/locks.py), so
    every other write of this funnel's stages waits, and the stages are read under it;
    then the two stages' plans, root first. The unique stage of a funnel
    (`kr_unique_stage_in_funnel`) is kept at every statement: the moving stage has no
    number for a moment (the constraint holds numbered stages only). A locked parent
    refuses a move that changes its figures (the plans app's `FunnelReordered` guard)."""
    if direction not in STAGE_MOVES:
        raise ValidationError({"direction": ["Move a stage up or down."]})
    parent = kr.parent
    if parent is None or parent.aggregation != Aggregation.SEQUENTIAL:
        raise ValidationError({"stage": ["Only stages of a sequential key result move."]})
    structure_require_change(actor, parent)
    org_id = kr.organization_id
    chain = (*parent.ancestor_ids, parent.pk)
    publish(KeyResultWriting(organization_id=org_id, kr_ids=chain))
    stages = dict(
        KeyResult.objects.filter(
            organization_id=org_id, parent_id=parent.pk, stage__isnull=False
        ).values_list("pk", "stage")
    )
    if kr.pk not in stages:
        raise ValidationError({"stage": [f"“{kr.title}” is no stage of this funnel any more."]})
    stage = stages[kr.pk]
    if direction == "up":
        others = [(s, pk) for pk, s in stages.items() if s < stage]
        neighbour = max(others, default=None)
    else:
        others = [(s, pk) for pk, s in stages.items() if s > stage]
        neighbour = min(others, default=None)
    if neighbour is None:
        where = "first" if direction == "up" else "last"
        raise ValidationError({"stage": [f"“{kr.title}” is the {where} stage already."]})
    other_stage, other_id = neighbour
    publish(KeyResultWriting(organization_id=org_id, kr_ids=(*chain, kr.pk, other_id)))
    rows = KeyResult.objects.filter(organization_id=org_id, parent_id=parent.pk)
    rows.filter(pk=kr.pk).update(stage=None)
    rows.filter(pk=other_id).update(stage=stage)
    rows.filter(pk=kr.pk).update(stage=other_stage)
    publish(
        FunnelReordered(
            parent_id=parent.pk,
            old_stages=((kr.pk, stage), (other_id, other_stage)),
            title=kr.title,
        )
    )
    kr.stage = other_stage
    return kr


CONTRIBUTION_FIELDS = ("historical_ratio", "claimed_impact")


@transaction.atomic
def kr_contribution_update(*, kr: KeyResult, actor: User | None, **fields) -> KeyResult:
    """A contribution's own figures in its parent's structure: a stage's
    `historical_ratio`, a parallel child's `claimed_impact` (None clears it). Its
    editors' and its parent owner's (`contribution_require_edit`); the rules are
    `kr_update`'s (a locked parent keeps its claimed impacts)."""
    unknown = set(fields) - set(CONTRIBUTION_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: ["This field cannot be changed here."]})
    # its chain first, then the KR as it is now (a move may have committed meanwhile)
    publish(KeyResultWriting(organization_id=kr.organization_id, kr_ids=(*kr.ancestor_ids, kr.pk)))
    kr = KeyResult.objects.select_related("parent", "objective", "department").get(
        organization_id=kr.organization_id, pk=kr.pk
    )
    contribution_require_edit(actor, kr)
    if kr.parent_id is None:
        field = next(iter(fields), "parent")
        raise ValidationError({field: ["Only a contribution to another key result has this."]})
    return kr_update(kr=kr, **fields)


def kr_historical_ratios_set(*, org: Organization, ratios: dict[int, Decimal]) -> None:
    """The historical ratios a history import measured ({stage's KR id: ratio}, each
    0 < ratio ≤ 1: `plans.imports`). A stage's ratio is a figure of its own row that no
    rollup reads (the funnel's ratios are its targets'), so no chain is locked."""
    for kr_id, ratio in ratios.items():
        KeyResult.objects.filter(organization=org, pk=kr_id).update(historical_ratio=ratio)


# What a KR measures: its unit's precision, its metric kind and its start value. Changed
# only through `plans.services.kr_change`, which allows it while nothing is measured in
# them yet (no saved plan, no check-in, no contributions).
KR_MEASURE_FIELDS = ("decimals", "metric_kind", "start_value")


@transaction.atomic
def kr_measure_update(*, kr: KeyResult, **fields) -> KeyResult:
    unknown = set(fields) - set(KR_MEASURE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: ["This field cannot be changed here."]})
    publish(KeyResultWriting(organization_id=kr.organization_id, kr_ids=(*kr.ancestor_ids, kr.pk)))
    for key, value in fields.items():
        setattr(kr, key, value)
    _validate_kr(kr, next((f for f in ("start_value", "metric_kind") if f in fields), "target"))
    kr.save(update_fields=list(fields))
    return kr


# --- The cycle tree's order, and archiving (docs/decisions.md, issue 14 item 3) -------

DIRECTIONS = ("up", "down")


def _swap(rows: list, row, direction: str) -> list:
    """`rows` (in their order) with `row` moved one place `direction`, renumbered from 0:
    the rows whose position changes (none when it is first or last already)."""
    if direction not in DIRECTIONS:
        raise ValidationError({"direction": ["Move it up or down."]})
    i = next(n for n, r in enumerate(rows) if r.pk == row.pk)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(rows):
        return []
    rows[i], rows[j] = rows[j], rows[i]
    changed = []
    for n, r in enumerate(rows):
        if r.position != n:
            r.position = n
            changed.append(r)
    return changed


@transaction.atomic
def objective_move(*, objective: Objective, direction: str, actor: User | None) -> bool:
    """One place up or down among the cycle's objectives that are not archived; False
    when it is first (last) already."""
    objective_require_edit(actor, objective)
    if objective.archived_at is not None:
        raise ValidationError({"detail": [f"“{objective.title}” is archived: restore it first."]})
    siblings = list(
        Objective.objects.filter(
            organization_id=objective.organization_id,
            cycle_id=objective.cycle_id,
            archived_at__isnull=True,
        )
        .order_by("position", "id")
        .only("id", "position")
    )
    changed = _swap(siblings, objective, direction)
    Objective.objects.bulk_update(changed, ["position"])
    return bool(changed)


def kr_siblings(kr: KeyResult):
    """The KRs the cycle tree shows `kr` among, not archived: its parent's children in its
    objective, or, for a KR at the top of its objective's tree (no parent, or a parent in
    another objective), the other such KRs of the objective."""
    krs = KeyResult.objects.filter(
        organization_id=kr.organization_id, objective_id=kr.objective_id, archived_at__isnull=True
    )
    parent = kr.parent
    if parent is not None and parent.objective_id == kr.objective_id:
        return krs.filter(parent_id=parent.pk)
    return krs.filter(Q(parent__isnull=True) | ~Q(parent__objective_id=kr.objective_id))


@transaction.atomic
def kr_move(*, kr: KeyResult, direction: str, actor: User | None) -> bool:
    """One place up or down among its siblings in the cycle tree; False when it is first
    (last) already. A funnel's stages are in stage order, not moved here."""
    kr_require_move(actor, kr)
    if kr.archived_at is not None:
        raise ValidationError({"detail": [f"“{kr.title}” is archived: restore it first."]})
    parent = kr.parent
    if (
        parent is not None
        and parent.objective_id == kr.objective_id
        and parent.aggregation == Aggregation.SEQUENTIAL
    ):
        raise ValidationError(
            {
                "detail": [
                    f"“{kr.title}” is stage {kr.stage} of the funnel “{parent.title}”: the "
                    "stages are shown in funnel order. Change the order of the stages on "
                    "the funnel's structure page."
                ]
            }
        )
    siblings = kr_siblings(kr)
    # Their chains first (the one lock order: a write of a KR's row comes after them).
    chains = [
        part
        for path, pk in siblings.values_list("path", "pk")
        for part in (*(int(p) for p in path.split("/") if p), pk)
    ]
    publish(
        KeyResultWriting(organization_id=kr.organization_id, kr_ids=tuple(dict.fromkeys(chains)))
    )
    rows = list(siblings.order_by("position", "id").only("id", "position"))
    changed = _swap(rows, kr, direction)
    KeyResult.objects.bulk_update(changed, ["position"])
    return bool(changed)


def _subtree(kr: KeyResult):
    return KeyResult.objects.filter(
        organization_id=kr.organization_id, path__startswith=f"{kr.path}{kr.pk}/"
    )


def _counts_in(kr: KeyResult, parent: KeyResult) -> str:
    return (
        f"“{kr.title}” counts in the aggregate of “{parent.title}”: take it out there first "
        f"(the contributions of “{parent.title}”), then archive it. When that plan is "
        "locked, taking a contribution out is a modification the other departments hear "
        "about."
    )


def _archive_krs(*, organization_id: int, kr_ids: list[int], chain_ids: list[int], now) -> None:
    """Archive `kr_ids` at `now`, after their chains are locked and the higher apps found
    nothing that must be finished first (an open round or step: 400, nothing written)."""
    if not kr_ids:
        return
    publish(
        KeyResultWriting(
            organization_id=organization_id, kr_ids=tuple(dict.fromkeys([*chain_ids, *kr_ids]))
        )
    )
    asked = KeyResultsArchiving(organization_id=organization_id, kr_ids=tuple(kr_ids))
    publish(asked)
    if asked.refusals:
        raise ValidationError({"detail": asked.refusals})
    KeyResult.objects.filter(organization_id=organization_id, pk__in=kr_ids).update(archived_at=now)
    publish(KeyResultsArchived(organization_id=organization_id, kr_ids=tuple(kr_ids)))


def _restore_krs(*, organization_id: int, kr_ids: list[int], chain_ids: list[int]) -> None:
    if not kr_ids:
        return
    publish(
        KeyResultWriting(
            organization_id=organization_id, kr_ids=tuple(dict.fromkeys([*chain_ids, *kr_ids]))
        )
    )
    KeyResult.objects.filter(organization_id=organization_id, pk__in=kr_ids).update(
        archived_at=None
    )


@transaction.atomic
def kr_archive(*, kr: KeyResult, actor: User | None) -> list[int]:
    """Archive a KR with its subtree (its contributions, theirs …): the ids archived,
    none when it is archived already. A contribution of a parent that is not archived
    is refused: it counts in that parent's aggregate."""
    has_children = _subtree(kr).exists()
    kr_require_archive(actor, kr, has_children=has_children)
    if kr.archived_at is not None:
        return []
    parent = kr.parent
    if parent is not None and parent.archived_at is None:
        raise ValidationError({"detail": [_counts_in(kr, parent)]})
    ids = [kr.pk]
    if has_children:
        ids += list(_subtree(kr).filter(archived_at__isnull=True).values_list("pk", flat=True))
    _archive_krs(
        organization_id=kr.organization_id,
        kr_ids=ids,
        chain_ids=kr.ancestor_ids,
        now=timezone.now(),
    )
    return ids


def _archived_together(rows: list[KeyResult], root_ids: set[int]) -> list[KeyResult]:
    """Of `rows` (archived at one time), those under one of `root_ids`."""
    return [r for r in rows if root_ids & set(r.ancestor_ids)]


def _refuse_archived_objectives(krs: list[KeyResult], but: int | None = None) -> None:
    for row in krs:
        if row.objective.archived_at is not None and row.objective_id != but:
            raise ValidationError(
                {
                    "detail": [
                        f"“{row.title}” comes back with it, and is in the archived objective "
                        f"“{row.objective.title}”: restore that objective first."
                    ]
                }
            )


@transaction.atomic
def kr_restore(*, kr: KeyResult, actor: User | None) -> list[int]:
    """Restore a KR and what was archived with it (its subtree, archived at the same
    time): the ids restored, none when it is not archived."""
    kr_require_archive(actor, kr, has_children=_subtree(kr).exists())
    if kr.archived_at is None:
        return []
    parent = kr.parent
    if parent is not None and parent.archived_at is not None:
        raise ValidationError(
            {
                "detail": [
                    f"“{parent.title}” is archived: restore it first (“{kr.title}” counts in "
                    "its aggregate)."
                ]
            }
        )
    if kr.objective.archived_at is not None:
        raise ValidationError(
            {"detail": [f"The objective “{kr.objective.title}” is archived: restore it first."]}
        )
    together = list(_subtree(kr).filter(archived_at=kr.archived_at).select_related("objective"))
    _refuse_archived_objectives(together)
    ids = [kr.pk, *(r.pk for r in together)]
    _restore_krs(organization_id=kr.organization_id, kr_ids=ids, chain_ids=kr.ancestor_ids)
    return ids


@transaction.atomic
def objective_archive(*, objective: Objective, actor: User | None) -> list[int]:
    """Archive an objective with its KRs and their subtrees (a contribution in another
    objective goes with its parent): the KR ids archived. Refused when one of its KRs
    counts in a parent of another objective that is not archived."""
    objective_require_edit(actor, objective)
    if objective.archived_at is not None:
        return []
    org_id = objective.organization_id
    own = list(
        KeyResult.objects.filter(
            organization_id=org_id, objective=objective, archived_at__isnull=True
        ).select_related("parent")
    )
    for kr in own:
        parent = kr.parent
        if parent is not None and parent.objective_id != objective.pk and not parent.archived_at:
            raise ValidationError({"detail": [_counts_in(kr, parent)]})
    own_ids = {kr.pk for kr in own}
    elsewhere = _archived_together(
        list(
            KeyResult.objects.filter(
                organization_id=org_id, cycle_id=objective.cycle_id, archived_at__isnull=True
            ).exclude(objective=objective)
        ),
        own_ids,
    )
    now = timezone.now()
    ids = [*sorted(own_ids), *(r.pk for r in elsewhere)]
    chains = [a for kr in own for a in kr.ancestor_ids]
    _archive_krs(organization_id=org_id, kr_ids=ids, chain_ids=chains, now=now)
    objective.archived_at = now
    objective.save(update_fields=["archived_at"])
    return ids


@transaction.atomic
def objective_restore(*, objective: Objective, actor: User | None) -> list[int]:
    """Restore an objective and the KRs archived with it (at the same time): their ids."""
    objective_require_edit(actor, objective)
    if objective.archived_at is None:
        return []
    together = list(
        KeyResult.objects.filter(
            organization_id=objective.organization_id,
            cycle_id=objective.cycle_id,
            archived_at=objective.archived_at,
        ).select_related("objective", "parent")
    )
    own = {r.pk for r in together if r.objective_id == objective.pk}
    elsewhere = [r for r in _archived_together(together, own) if r.pk not in own]
    _refuse_archived_objectives(elsewhere, but=objective.pk)
    ids = [*sorted(own), *(r.pk for r in elsewhere)]
    for row in together:
        parent = row.parent
        if row.pk in own and parent is not None and parent.pk not in own and parent.archived_at:
            raise ValidationError(
                {
                    "detail": [
                        f"“{row.title}” counts in the aggregate of “{parent.title}”, which "
                        "is archived: restore that one first."
                    ]
                }
            )
    chains = [a for row in together if row.pk in own for a in row.ancestor_ids]
    _restore_krs(organization_id=objective.organization_id, kr_ids=ids, chain_ids=chains)
    objective.archived_at = None
    objective.save(update_fields=["archived_at"])
    return ids


# --- Dependencies -----------------------------------------------------------


@transaction.atomic
def dependency_create(
    *,
    org: Organization,
    upstream: KeyResult,
    downstream: KeyResult,
    assumption: str,
    actor: User,
    expected_value: Decimal | None = None,
    expected_by: date | None = None,
) -> Dependency:
    kr_require_edit(actor, downstream)  # a dependency is the downstream's assumption
    if upstream.pk == downstream.pk:
        raise ValidationError({"downstream": ["A key result cannot depend on itself."]})
    if (expected_value is None) != (expected_by is None):
        field = "expected_by" if expected_by is None else "expected_value"
        raise ValidationError(
            {field: ["A quantified expectation needs both a value and a date, or neither."]}
        )
    if expected_value is not None:
        validate_number("expected_value", expected_value, 6)
        cycle = upstream.cycle
        if not cycle.start <= expected_by <= cycle.end:
            raise ValidationError(
                {"expected_by": [f"Must fall inside {cycle.name} ({cycle.start} to {cycle.end})."]}
            )
    if Dependency.objects.filter(
        organization=org, upstream=upstream, downstream=downstream
    ).exists():
        raise ValidationError({"downstream": ["This dependency is registered already."]})
    return Dependency.objects.create(
        organization=org,
        upstream=upstream,
        downstream=downstream,
        assumption=assumption,
        expected_value=expected_value,
        expected_by=expected_by,
        created_by=actor,
    )


@transaction.atomic
def dependency_delete(*, dependency: Dependency) -> None:
    dependency.delete()
