"""Writes of the hierarchy app. Keyword-only, atomic, the only place rows change."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from hierarchy.models import Department, Membership, Organization, Role

User = get_user_model()


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> tuple[User, str]:
    if User.objects.filter(username__iexact=username).exists():
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
    return user, token.key


@transaction.atomic
def organization_create(*, name: str, slug: str, actor: User) -> Organization:
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


@transaction.atomic
def membership_create(*, org: Organization, username: str, role: str) -> Membership:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": [f"No user is named {username!r}."]})
    if Membership.objects.filter(organization=org, user=user).exists():
        raise ValidationError({"username": [f"{username} is already a member."]})
    return Membership.objects.create(organization=org, user=user, role=role)


def _ensure_another_admin(membership: Membership, field: str) -> None:
    others = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise ValidationError({field: ["An organization needs at least one admin."]})


@transaction.atomic
def membership_update(*, membership: Membership, role: str) -> Membership:
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        _ensure_another_admin(membership, "role")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    if membership.role == Role.ADMIN:
        _ensure_another_admin(membership, "username")
    led = Department.objects.filter(
        organization_id=membership.organization_id, lead_id=membership.user_id
    ).values_list("name", flat=True)
    if led:
        raise ValidationError(
            {"username": [f"{membership.user.username} leads {', '.join(led)}: name a new lead."]}
        )
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


@transaction.atomic
def department_create(
    *, org: Organization, name: str, lead: User, parent: Department | None = None
) -> Department:
    if Department.objects.filter(organization=org, name__iexact=name).exists():
        raise ValidationError({"name": [f"A department named {name!r} exists already."]})
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
    for key, value in fields.items():
        setattr(department, key, value)
    department.full_clean(exclude=["organization", "lead", "parent"])
    department.save()
    return department


@transaction.atomic
def department_delete(*, department: Department) -> None:
    if department.children.exists():
        raise ValidationError({"detail": ["Move or delete its sub-departments first."]})
    department.delete()
