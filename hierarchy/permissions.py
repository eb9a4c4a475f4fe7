"""Who may do what to a key result (SPEC.md §1): one function per action.

- edit a KR (its check-ins, its description, its dependencies): the KR's owner, the lead
  of its department, and admins (`kr_can_edit`);
- edit a plan, saving or submitting it (`plan_can_edit`), and change a target
  (`target_can_change`): the same for a
  KR without children; for a parent, whose plan carries the target its contributors plan
  against, the parent owner and admins only (a parent's plan save changes its target);
- lock (`lock_can`), send the impact notice (`notice_can`), close a round (`close_can`):
  the parent owner and admins;
- shape a KR's contributions (`structure_can_change`: add, remove, order the stages,
  choose the aggregation): its owner and admins; a contribution's own ratio or claimed
  impact (`contribution_can_edit`): its editors, and its parent's owner and admins.
- create an objective (`objective_can_create`): every member who writes; edit, move or
  archive one (`objective_can_edit`): its owner and admins;
- move a KR among its siblings in the cycle tree (`kr_can_move`): whoever may edit it, and
  the owner of its objective, who arranges the objective's key results;
- archive or restore a KR (`kr_can_archive`): whoever may edit it when it has no
  children; a parent goes with its subtree, so like its plan it is its owner's and admins'.

Each takes `who`: the caller's `Scope` (APIs and pages), a `User` (the services' actor,
whose membership the request's scope has read already, or is read here), or None
(the system itself: a task, a command, a cascade the worker applies), which may do
everything. The APIs and pages ask before they parse (403 before 400); the services ask
again where every path passes (`plan_update`, `plan_submit`, `kr_target_set`, `kr_change`,
`plan_lock`, `round_notice`, `round_close`), so no caller can skip the check.
"""

from django.core.exceptions import PermissionDenied

from hierarchy.models import Department, KeyResult, Membership, Objective
from hierarchy.scope import MEMBERSHIPS, Scope


def _membership(who, organization_id: int) -> Membership | None:
    if isinstance(who, Scope):
        return who.membership if who.org.pk == organization_id else None
    if isinstance(who, Membership):
        return who if who.organization_id == organization_id else None
    cache = getattr(who, MEMBERSHIPS, None)
    if cache is not None and organization_id in cache:
        return cache[organization_id]
    # Not remembered here: the user object may outlive a change of role (a request's
    # user is new each request, and its scope remembers it).
    return Membership.objects.filter(organization_id=organization_id, user=who).first()


def _has_children(kr: KeyResult) -> bool:
    known = getattr(kr, "has_children", None)
    if known is None:
        known = KeyResult.objects.filter(organization_id=kr.organization_id, parent=kr).exists()
    return known


class _Owner:
    """The KR's owner acting through a service: a writer by construction (viewers own no
    KR: hierarchy/services.py refuses it), so no membership is read for them."""

    is_admin = False
    can_write = True

    def __init__(self, user_id: int):
        self.user_id = user_id


def _writer(who, kr: KeyResult) -> Membership | None:
    if not isinstance(who, (Scope, Membership)) and getattr(who, "pk", None) == kr.owner_id:
        return _Owner(kr.owner_id)
    membership = _membership(who, kr.organization_id)
    return membership if membership is not None and membership.can_write else None


def _is_owner_or_admin(membership: Membership, kr: KeyResult) -> bool:
    return membership.is_admin or kr.owner_id == membership.user_id


def kr_can_edit(who, kr: KeyResult) -> bool:
    """The KR's owner, the lead of its department, and admins: its check-ins, what it
    is (title, unit, parent …), its dependencies."""
    if who is None:
        return True
    membership = _writer(who, kr)
    if membership is None:
        return False
    return _is_owner_or_admin(membership, kr) or kr.department.lead_id == membership.user_id


def plan_can_edit(who, kr: KeyResult, *, has_children: bool | None = None) -> bool:
    """Save or submit a KR's plan. A saved plan carries the KR's target, so a parent's plan is the
    parent owner's (and admins'); a KR without children is also its department lead's."""
    if who is None:
        return True
    membership = _writer(who, kr)
    if membership is None:
        return False
    if _is_owner_or_admin(membership, kr):
        return True
    if kr.department.lead_id != membership.user_id:
        return False
    return not (_has_children(kr) if has_children is None else has_children)


def target_can_change(who, kr: KeyResult) -> bool:
    """Change a KR's target (it moves the plan: SPEC.md §2): whoever may save its plan,
    so a parent's target is the parent owner's and admins'."""
    return plan_can_edit(who, kr)


def _parent_owner(who, kr: KeyResult) -> bool:
    if who is None:
        return True
    membership = _writer(who, kr)
    return membership is not None and _is_owner_or_admin(membership, kr)


def lock_can(who, kr: KeyResult) -> bool:
    """Lock the plans of a KR and its children: its owner and admins."""
    return _parent_owner(who, kr)


def notice_can(who, parent: KeyResult) -> bool:
    """Send the impact notice of a round on `parent`: the parent owner and admins."""
    return _parent_owner(who, parent)


def close_can(who, parent: KeyResult) -> bool:
    """Close a round on `parent`, confirming or changing the shared target: the parent
    owner and admins."""
    return _parent_owner(who, parent)


def structure_can_change(who, kr: KeyResult) -> bool:
    """Shape a KR's contributions (add or remove a child, order the funnel's stages,
    choose how the children combine): its owner and admins, the parent owner's."""
    return _parent_owner(who, kr)


def contribution_can_edit(who, kr: KeyResult) -> bool:
    """A contribution's own figures in its parent's structure (a stage's historical
    ratio, a parallel child's claimed impact): its editors (`kr_can_edit`, as in the
    API), and the owner of its parent and admins, who shape the parent."""
    if kr_can_edit(who, kr):
        return True
    return kr.parent_id is not None and structure_can_change(who, kr.parent)


def kr_can_act_as_parent_owner(who, kr: KeyResult) -> bool:
    """Whether the combined view offers the parent owner's actions (lock, notice, close,
    target): the actions' own functions agree for a parent."""
    return _parent_owner(who, kr)


def objective_can_create(who: Scope | None) -> bool:
    """Create an objective in the caller's organization (they, or a member they name, own
    it): every member who writes."""
    return who is None or who.can_write


def objective_can_edit(who, objective: Objective) -> bool:
    """Change, move, archive or restore an objective: its owner and admins."""
    if who is None:
        return True
    membership = _membership(who, objective.organization_id)
    if membership is None or not membership.can_write:
        return False
    return membership.is_admin or objective.owner_id == membership.user_id


def kr_can_move(who, kr: KeyResult, *, objective: Objective | None = None) -> bool:
    """Move a KR up or down among its siblings in the cycle tree: whoever may edit it, and
    the owner of its objective (`objective`: the KR's, when the caller has it loaded)."""
    if kr_can_edit(who, kr):
        return True
    objective = objective or kr.objective
    membership = _membership(who, kr.organization_id)
    return (
        membership is not None and membership.can_write and objective.owner_id == membership.user_id
    )


def kr_can_archive(who, kr: KeyResult, *, has_children: bool | None = None) -> bool:
    """Archive or restore a KR. Without children: whoever may edit it. A parent is
    archived with its subtree, the contributions other departments plan: like its plan,
    its owner's and admins'."""
    if who is None:
        return True
    if _has_children(kr) if has_children is None else has_children:
        return _parent_owner(who, kr)
    return kr_can_edit(who, kr)


# --- The same, raising PermissionDenied (403) ---------------------------------------

_VIEWER = "Viewers may read but not change anything."
_EDIT = "Only the key result's owner, its department's lead or an admin may change it."
_PARENT = (
    "Only the owner of “{title}” or an admin may do this: it is the target its "
    "contributors plan against."
)
_OWNER = "Only the owner of this key result or an admin may do this."
_STRUCTURE = (
    "Only the owner of “{title}” or an admin may change its contributions: it is the "
    "target they plan against."
)
_CONTRIBUTION = (
    "Only the contribution's owner, its department's lead, the owner of the key result it "
    "contributes to or an admin may change this."
)
_OBJECTIVE = "Only the objective's owner or an admin may change it."
_MOVE = (
    "Only the key result's owner, its department's lead, the objective's owner or an admin "
    "may move it."
)
_ARCHIVE_PARENT = (
    "Only the owner of “{title}” or an admin may archive or restore it: its contributions "
    "go with it."
)


def _refuse(who, kr: KeyResult, message: str) -> None:
    membership = None if who is None else _membership(who, kr.organization_id)
    if membership is not None and not membership.can_write:
        raise PermissionDenied(_VIEWER)
    raise PermissionDenied(message)


def kr_require_edit(who, kr: KeyResult) -> None:
    if not kr_can_edit(who, kr):
        _refuse(who, kr, _EDIT)


def plan_require_edit(who, kr: KeyResult, *, has_children: bool | None = None) -> None:
    if not plan_can_edit(who, kr, has_children=has_children):
        _refuse(who, kr, _PARENT.format(title=kr.title) if kr_can_edit(who, kr) else _EDIT)


def target_require_change(who, kr: KeyResult) -> None:
    if not target_can_change(who, kr):
        _refuse(who, kr, _PARENT.format(title=kr.title) if kr_can_edit(who, kr) else _EDIT)


def lock_require(who, kr: KeyResult) -> None:
    if not lock_can(who, kr):
        _refuse(who, kr, _OWNER)


def notice_require(who, parent: KeyResult) -> None:
    if not notice_can(who, parent):
        _refuse(who, parent, _OWNER)


def close_require(who, parent: KeyResult) -> None:
    if not close_can(who, parent):
        _refuse(who, parent, _OWNER)


def structure_require_change(who, kr: KeyResult) -> None:
    if not structure_can_change(who, kr):
        _refuse(who, kr, _STRUCTURE.format(title=kr.title))


def contribution_require_edit(who, kr: KeyResult) -> None:
    if not contribution_can_edit(who, kr):
        _refuse(who, kr, _CONTRIBUTION)


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


def objective_require_create(who: Scope | None) -> None:
    if not objective_can_create(who):
        raise PermissionDenied(_VIEWER)


def objective_require_edit(who, objective: Objective) -> None:
    if not objective_can_edit(who, objective):
        membership = None if who is None else _membership(who, objective.organization_id)
        if membership is not None and not membership.can_write:
            raise PermissionDenied(_VIEWER)
        raise PermissionDenied(_OBJECTIVE)


def kr_require_move(who, kr: KeyResult, *, objective: Objective | None = None) -> None:
    if not kr_can_move(who, kr, objective=objective):
        _refuse(who, kr, _MOVE)


def kr_require_archive(who, kr: KeyResult, *, has_children: bool | None = None) -> None:
    if not kr_can_archive(who, kr, has_children=has_children):
        _refuse(who, kr, _ARCHIVE_PARENT.format(title=kr.title) if kr_can_edit(who, kr) else _EDIT)
