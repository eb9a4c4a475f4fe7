"""Shared fixtures: two organizations with every kind of person.

Planning fixtures (SPEC.md §8's shared KRs) are in tests/planning.py.

`world` is organization `acme` (admin, parent owner, Marketing and Sales leads,
a plain member, a viewer) and organization `globex` with its own admin, who is
an outsider to acme.
"""

import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from psycopg.pq import TransactionStatus
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from hierarchy.models import Department, Membership, Organization, Role
from okrplan.lib import tenancy

pytest_plugins = ["tests.planning", "tests.matrix", "tests.fuzzing"]

settings.VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite test database's folder

# PostgreSQL: the tests' own code (fixtures, assertions) is the operator's, in every
# organization; each request still starts with none and sets its own, as in production
# (okrplan/lib/tenancy.py, and `_request_scope_own` below). The test database is created
# and migrated as the owner (the `migrate` command's `owner()`).
tenancy.session_scope_default(tenancy.SYSTEM)


class NestedRequestScope:
    """A request inside a test's transaction (the `db` fixture's) starts with no
    organization, as a request's own transaction does in production, and gives the test
    its scope back after (the organization it set would otherwise stay)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import connection

        if connection.vendor != "postgresql" or not connection.in_atomic_block:
            return self.get_response(request)
        connection.ensure_connection()
        raw = connection.connection  # the driver's: the test's statements, not the request's
        before = raw.execute("SELECT current_setting(%s, true)", [tenancy.GUC]).fetchone()[0]
        raw.execute("SELECT set_config(%s, '', true)", [tenancy.GUC])
        try:
            return self.get_response(request)
        finally:
            if raw.info.transaction_status == TransactionStatus.INTRANS:
                raw.execute("SELECT set_config(%s, %s, true)", [tenancy.GUC, before or ""])


@pytest.fixture(autouse=True)
def _request_scope_own(request):
    if "db" not in request.fixturenames or not os.environ.get("DATABASE_URL"):
        yield
        return
    settings_ = request.getfixturevalue("settings")
    settings_.MIDDLEWARE = ["tests.conftest.NestedRequestScope", *settings_.MIDDLEWARE]
    yield


User = get_user_model()
PASSWORD = "correct-horse-battery"


def make_user(username: str, **extra) -> User:
    user = User(username=username, email=f"{username}@example.test", **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def make_member(org: Organization, username: str, role: str = Role.MEMBER) -> User:
    user = make_user(username)
    Membership.objects.create(organization=org, user=user, role=role)
    return user


@dataclass
class World:
    org: Organization
    admin: User
    owner: User
    marketing_lead: User
    sales_lead: User
    member: User
    viewer: User
    marketing: Department
    sales: Department
    other_org: Organization
    outsider: User
    other_department: Department


@pytest.fixture
def world(db) -> World:
    org = Organization.objects.create(name="Acme", slug="acme")
    admin = make_member(org, "admin", Role.ADMIN)
    owner = make_member(org, "owner")
    marketing_lead = make_member(org, "maya")
    sales_lead = make_member(org, "sam")
    member = make_member(org, "member")
    viewer = make_member(org, "viewer", Role.VIEWER)
    marketing = Department.objects.create(organization=org, name="Marketing", lead=marketing_lead)
    sales = Department.objects.create(organization=org, name="Sales", lead=sales_lead)

    other_org = Organization.objects.create(name="Globex", slug="globex")
    outsider = make_member(other_org, "outsider", Role.ADMIN)
    other_department = Department.objects.create(
        organization=other_org, name="Marketing", lead=outsider
    )
    return World(
        org=org,
        admin=admin,
        owner=owner,
        marketing_lead=marketing_lead,
        sales_lead=sales_lead,
        member=member,
        viewer=viewer,
        marketing=marketing,
        sales=sales,
        other_org=other_org,
        outsider=outsider,
        other_department=other_department,
    )


@pytest.fixture
def api():
    """`api(user)`: an API client authenticated by that user's token; `api()` anonymous."""

    def make(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache (local memory in tests) holds the login attempt counts: each test starts
    with none, so the suite, which logs in as the same few people, is never throttled."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs seconds per fixture; tests need none of it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(items):
    """Pages (`test_*_page.py`, `test_*_view.py`) render what the services and selectors
    return: the database does not change what they show, so they run on SQLite only
    (`make test` runs the second, PostgreSQL pass with `-m "not page"`)."""
    for item in items:
        if item.path.name.endswith(("_page.py", "_view.py")):
            item.add_marker(pytest.mark.page)
