"""The organization switcher of the top bar: the caller's organizations, kept in the session.

Every page shows it, and every page's queries are counted (docs/performance.md): so the
list is read once, when the person logs in (`user_logged_in`), and kept in their session,
which every page reads anyway. It is read again only when it may have changed for them:
an organization they created or joined, or left (`org_switch_refresh` in those views),
their home page (which reads their memberships anyway), and an organization page of one
the list does not hold (joined elsewhere, through the API). An organization that left
them meanwhile stays listed until one of those: its link answers 404, like any other
organization's (docs/decisions.md, issue 14).
"""

from hierarchy.models import Membership
from okrplan.lib.tenancy import system_scope

SESSION_KEY = "okrplan_orgs"
SHOWN = 20  # more than that: the home page lists them all


def _orgs_of(user) -> list[list[str]]:
    # The caller's organizations, across organizations: filtered by the caller here.
    with system_scope():
        rows = (
            Membership.objects.filter(user=user)
            .order_by("organization__name", "organization_id")
            .values_list("organization__slug", "organization__name")[: SHOWN + 1]
        )
        return [[slug, name] for slug, name in rows]


def org_switch_store(request, orgs: list[list[str]]) -> list[list[str]]:
    """Keep `orgs` ([slug, name] pairs, by name) as the session's list (written only when
    it changed)."""
    orgs = [[slug, name] for slug, name in orgs[: SHOWN + 1]]
    if request.session.get(SESSION_KEY) != orgs:
        request.session[SESSION_KEY] = orgs
    return orgs


def org_switch_refresh(request) -> list[list[str]]:
    """Read the caller's organizations again into their session."""
    return org_switch_store(request, _orgs_of(request.user))


def on_login(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver: the list, read once per login."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = _orgs_of(user)


def org_switch_context(request) -> dict:
    """`switch_orgs` ([slug, name] pairs) and `switch_more` for the top bar."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated:
        return {}
    orgs = session.get(SESSION_KEY)
    scope = getattr(request, "_okrplan_scope", None)  # the organization page's own
    if orgs is None or (scope is not None and scope.org.slug not in {s for s, _ in orgs}):
        orgs = org_switch_refresh(request)
    return {"switch_orgs": orgs[:SHOWN], "switch_more": len(orgs) > SHOWN}
