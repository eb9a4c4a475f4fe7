"""Shared fixtures: two organizations with every kind of person.

Planning fixtures (SPEC.md §8's shared KRs) are in tests/planning.py.

`world` is organization `acme` (admin, parent owner, Marketing and Sales leads,
a plain member, a viewer) and organization `globex` with its own admin, who is
an outsider to acme.
"""

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from hierarchy.models import Department, Membership, Organization, Role
from okrplan.lib import tenancy

pytest_plugins = ["tests.planning", "tests.matrix", "tests.fuzzing"]

settings.VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite test database's folder

# PostgreSQL: the tests' own code (fixtures, assertions) is the operator's, in every
# organization; each request still starts with none and sets its own, as in production
# (okrplan/lib/tenancy.py). The test database is created and migrated as the owner.
tenancy.session_scope_default(tenancy.SYSTEM)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    tenancy.owner_begin()  # before pytest-django creates the test database


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenancy.owner_end()  # created and migrated: the app's role from now on
    yield
    with django_db_blocker.unblock():
        tenancy.owner_begin()  # pytest-django drops the test database next


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
