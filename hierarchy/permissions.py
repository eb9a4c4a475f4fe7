"""Who may do what to a key result (SPEC.md §1)."""

from django.core.exceptions import PermissionDenied

from hierarchy.models import Department, KeyResult
from hierarchy.scope import Scope


def kr_can_edit(scope: Scope, kr: KeyResult) -> bool:
    """The KR's owner, the lead of its department, and admins edit its plan and check-ins."""
    if not scope.can_write:
        return False
    user_id = scope.membership.user_id
    return scope.is_admin or kr.owner_id == user_id or kr.department.lead_id == user_id


def kr_require_edit(scope: Scope, kr: KeyResult) -> None:
    scope.require_writer()
    if not kr_can_edit(scope, kr):
        raise PermissionDenied(
            "Only the key result's owner, its department's lead or an admin may change it."
        )


def kr_can_act_as_parent_owner(scope: Scope, kr: KeyResult) -> bool:
    """Lock, impact notice, close a round, change the parent target: the owner and admins."""
    return scope.can_write and (scope.is_admin or kr.owner_id == scope.membership.user_id)


def kr_require_parent_owner(scope: Scope, kr: KeyResult) -> None:
    scope.require_writer()
    if not kr_can_act_as_parent_owner(scope, kr):
        raise PermissionDenied("Only the owner of this key result or an admin may do this.")


def kr_require_create(
    scope: Scope, *, department: Department, owner_id: int, parent: KeyResult | None
) -> None:
    """Admins; a department's lead for its KRs; a parent's owner for its children; or
    members creating a KR they will own."""
    scope.require_writer()
    user_id = scope.membership.user_id
    if (
        scope.is_admin
        or department.lead_id == user_id
        or owner_id == user_id
        or (parent is not None and parent.owner_id == user_id)
    ):
        return
    raise PermissionDenied(
        "Create key results you will own, for a department you lead, or under one you own."
    )
