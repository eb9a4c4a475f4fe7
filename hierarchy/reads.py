"""The reads every request of an organization starts with, written by hand (see
`plans/chain.py` for why): the organization by its slug, and the caller's membership.

On PostgreSQL the first also sets the transaction's organization for row-level security
(`okrplan/lib/tenancy.py`): the organization is the tenant root, not tenant data, so it
can be found before any organization is set, and the membership (tenant data) is read
once it is. SQLite has no row-level security: one statement joins the two.
"""

import functools

from django.db import connection

from hierarchy.models import Membership, Organization
from okrplan.lib import tenancy
from okrplan.lib.sql import Columns, fetch_one, split, table

_ORG = Columns(Organization, "o")
_MEMBERSHIP = Columns(Membership, "m")


@functools.cache
def _org_sql(vendor: str) -> str:
    return (
        f"SELECT {tenancy.scope_set_sql_of('o.id::text')}, {_ORG.sql} "
        f"FROM {table(Organization)} o WHERE o.slug = %s"
    )


@functools.cache
def _membership_sql(vendor: str) -> str:
    return (
        f"SELECT {_MEMBERSHIP.sql} FROM {table(Membership)} m "
        f"WHERE m.organization_id = %s AND m.user_id = %s"
    )


@functools.cache
def _membership_by_slug_sql(vendor: str) -> str:
    return (
        f"SELECT {_MEMBERSHIP.sql}, {_ORG.sql} FROM {table(Membership)} m "
        f"JOIN {table(Organization)} o ON o.id = m.organization_id "
        f"WHERE o.slug = %s AND m.user_id = %s"
    )


def org_enter(slug: str) -> Organization | None:
    """PostgreSQL: organization `slug`, and this transaction set in its rows; None (and
    nothing set) when there is no such organization."""
    row = fetch_one(_org_sql(connection.vendor), [slug])
    return None if row is None else _ORG.instance(row[1:])


def membership_in(*, user, slug: str) -> Membership | None:
    """The user's membership of organization `slug` with the organization and the user
    loaded, or None (the same for a foreign and a missing organization)."""
    if connection.vendor == "postgresql":
        org = org_enter(slug)
        if org is None:
            return None
        row = fetch_one(_membership_sql(connection.vendor), [org.pk, user.pk])
        if row is None:
            return None
        membership = _MEMBERSHIP.instance(row)
    else:
        row = fetch_one(_membership_by_slug_sql(connection.vendor), [slug, user.pk])
        if row is None:
            return None
        (membership_v, org_v), _ = split(row, _MEMBERSHIP, _ORG)
        membership, org = _MEMBERSHIP.instance(membership_v), _ORG.instance(org_v)
    membership.organization, membership.user = org, user
    return membership
