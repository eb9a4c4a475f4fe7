"""Row-level security on PostgreSQL (okrplan/lib/tenancy.py): a forgotten organization
filter in app code still sees, and writes, only the organization of the transaction.

Two organizations with a row in every tenant table: `acme` (every kind of row the app
writes, tests/test_org_export_import.py) and its copy `copy` (export_org, import_org).
"""

import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.utils import ProgrammingError
from django.test.utils import CaptureQueriesContext

from hierarchy.models import Department, Organization
from okrplan import orgdata
from okrplan.lib import tenancy
from plans.models import Plan
from tests.test_org_export_import import rich  # noqa: F401  # the fixture
from tests.workers import ROOT, database_env

pytestmark = [
    pytest.mark.pg,
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="row-level security is PostgreSQL's"
    ),
]
User = get_user_model()


@pytest.fixture
def two(rich):  # noqa: F811
    """acme and its copy, each with rows in every tenant table (and globex, the world's)."""
    acme = Organization.objects.get(slug="acme")
    copy = orgdata.org_import(data=orgdata.org_export(org=acme), slug="copy").org
    for model in orgdata.tenant_models():
        orgs = set(model._base_manager.values_list("organization_id", flat=True))
        assert orgs >= {acme.pk, copy.pk}, orgdata.label(model)
    return acme, copy


def _tables():
    return [m._meta.db_table for m in orgdata.tenant_models()]


def _raw_orgs(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT organization_id FROM "{table}"')
        return {row[0] for row in cursor.fetchall()}


def _scope_clear():
    """This transaction in no organization (as every request starts in production)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('okrplan.org_id', '', true)")


def test_it_shows_only_the_scopes_rows_to_a_query_without_an_organization_filter(two):
    acme, copy = two
    with tenancy.org_scope(copy.pk):
        assert set(Plan.objects.values_list("organization_id", flat=True)) == {copy.pk}
        for model in orgdata.tenant_models():
            orgs = set(model._base_manager.values_list("organization_id", flat=True))
            assert orgs == {copy.pk}, orgdata.label(model)
        for table in _tables():
            assert _raw_orgs(table) == {copy.pk}, table
    with tenancy.org_scope(acme.pk):
        for table in _tables():
            assert _raw_orgs(table) == {acme.pk}, table


def test_it_shows_no_rows_when_no_organization_is_set(two):
    _scope_clear()
    for model in orgdata.tenant_models():
        assert not model._base_manager.exists(), orgdata.label(model)
    for table in _tables():
        assert _raw_orgs(table) == set(), table


def test_it_shows_every_organization_in_the_system_scope(two):
    acme, copy = two
    _scope_clear()
    with tenancy.system_scope():
        for table in _tables():
            assert _raw_orgs(table) >= {acme.pk, copy.pk}, table
    assert _raw_orgs("plans_plan") == set()  # and back to none after it


def test_it_refuses_to_insert_a_row_of_another_organization(two):
    acme, copy = two
    lead = User.objects.get(username="sam")
    with pytest.raises(ProgrammingError, match="row-level security"), tenancy.org_scope(acme.pk):
        Department.objects.create(organization=copy, name="Smuggled", lead=lead)
    with tenancy.org_scope(acme.pk):
        Department.objects.create(organization=acme, name="At home", lead=lead)


@pytest.mark.django_db(transaction=True)  # the scope is its own transaction, as in a task
def test_it_neither_updates_nor_deletes_rows_of_another_organization(two):
    acme, copy = two
    foreign = Department.objects.filter(organization=copy).order_by("pk").first()
    with tenancy.org_scope(acme.pk):
        assert Department.objects.filter(pk=foreign.pk).update(name="Renamed") == 0
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM hierarchy_membership WHERE organization_id = %s", [copy.pk])
            assert cursor.rowcount == 0
    foreign.refresh_from_db()
    assert foreign.name != "Renamed"


def test_it_refuses_to_move_a_row_into_another_organization(two):
    acme, copy = two
    own = Department.objects.filter(organization=acme).order_by("pk").first()
    with pytest.raises(ProgrammingError, match="row-level security"), tenancy.org_scope(acme.pk):
        Department.objects.filter(pk=own.pk).update(organization=copy)


def test_it_sets_the_organization_of_a_request_for_every_statement_it_runs(two, api):
    """Every statement of an organization's request runs as the app's role, in that
    organization; the scope adds one statement (the organization found by slug sets it)."""
    acme, _ = two
    seen = []

    def record(execute, sql, params, many, context):
        row = connection.connection.execute(
            "SELECT current_user, current_setting('okrplan.org_id', true)"
        ).fetchone()
        seen.append((sql.split(" ", 1)[0], *row))
        return execute(sql, params, many, context)

    client = api(User.objects.get(username="admin"))
    with connection.execute_wrapper(record), CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/orgs/acme/departments/")
    assert response.status_code == 200
    assert {d["name"] for d in response.json()["results"]} >= {"Marketing", "Sales"}
    assert "set_config('okrplan.org_id'" in queries.captured_queries[1]["sql"]  # after the token
    after_set = seen[2:]
    assert after_set and {(role, org) for _, role, org in after_set} == {
        (tenancy.app_role(), str(acme.pk))
    }


def test_it_answers_404_for_an_organization_the_caller_is_not_in(two, api):
    client = api(User.objects.get(username="outsider"))  # globex's admin
    assert client.get("/api/v1/orgs/copy/departments/").status_code == 404
    assert client.get("/api/v1/orgs/globex/departments/").status_code == 200
    assert client.get("/api/v1/orgs/nowhere/departments/").status_code == 404


def _role_facts() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolsuper, r.rolbypassrls, "
            "(SELECT count(*) FROM pg_tables t WHERE t.tableowner = current_user) "
            "FROM pg_roles r WHERE r.rolname = current_user"
        )
        return cursor.fetchone()


def test_it_runs_the_app_as_a_role_that_row_level_security_holds_for(db):
    assert _role_facts() == (tenancy.app_role(), False, False, 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_user")
        login = cursor.fetchone()[0]
        cursor.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = ANY(%s)", [_tables()]
        )
        assert [row[0] for row in cursor.fetchall()] == [login]  # the owner: migrate's login


def test_it_runs_a_new_process_as_the_app_role(db):
    """What the web server and the worker do when they connect (their own processes)."""
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'okrplan.settings');"
        "django.setup(); from django.db import connection; c = connection.cursor();"
        'c.execute("SELECT current_user, rolsuper, rolbypassrls, '
        "current_setting('okrplan.org_id', true) FROM pg_roles WHERE rolname = current_user\");"
        "print(c.fetchone())"
    )
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "1", **database_env()}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == repr((tenancy.app_role(), False, False, ""))


def test_it_finds_every_tenant_table_covered(db):
    assert orgdata.policy_check(databases=["default"]) == []


def test_it_fails_the_check_when_a_table_is_not_forced_or_has_no_policy(db):
    with transaction.atomic():
        with tenancy.owner(), connection.cursor() as cursor:
            cursor.execute("ALTER TABLE plans_plan NO FORCE ROW LEVEL SECURITY")
            cursor.execute("DROP POLICY tenant_isolation ON notifications_step")
            errors = orgdata.policy_check(databases=["default"])
        transaction.set_rollback(True)
    assert [e.id for e in errors] == ["okrplan.E002"] * 2
    assert "plans.plan (table plans_plan): row-level security is not forced" in errors[0].msg
    assert "notifications.step (table notifications_step): no policy" in errors[1].msg
    assert orgdata.policy_check(databases=["default"]) == []  # rolled back


def test_it_fails_the_check_when_row_level_security_is_off(db):
    with transaction.atomic():
        with tenancy.owner(), connection.cursor() as cursor:
            cursor.execute("ALTER TABLE hierarchy_keyresult DISABLE ROW LEVEL SECURITY")
            errors = orgdata.policy_check(databases=["default"])
        transaction.set_rollback(True)
    assert [e.msg for e in errors] == [
        "hierarchy.keyresult (table hierarchy_keyresult): row-level security is not enabled."
    ]


def test_it_keeps_the_app_role_out_of_the_tables_definitions(db):
    with (
        pytest.raises(DatabaseError, match="must be owner"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("ALTER TABLE plans_plan NO FORCE ROW LEVEL SECURITY")


def test_it_checks_the_condition_the_migration_created():
    """One condition: the migration's literal is the library's (okrplan/lib/tenancy.py)."""
    from importlib import import_module

    migration = import_module("notifications.migrations.0003_row_level_security")
    assert migration.CONDITION == tenancy.POLICY_CONDITION
    assert tenancy.POLICY_NAME in migration.TENANT_SQL[2]


def test_it_lets_migrate_run_where_the_check_fails(db):
    """`migrate` runs the database checks first: it must not refuse to run for want of
    the policies it creates (as the owner, without okrplan.E002)."""
    from django.core.management import call_command

    with transaction.atomic():
        with tenancy.owner(), connection.cursor() as cursor:
            cursor.execute("ALTER TABLE plans_plan NO FORCE ROW LEVEL SECURITY")
        assert orgdata.policy_check(databases=["default"])
        call_command("migrate", verbosity=0, skip_checks=False)  # no SystemCheckError
        assert _role_facts()[0] == tenancy.app_role()  # and back to the app's role after
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)  # committed: the new process sees the rows
def test_it_leaves_no_scope_in_the_session_between_a_system_scopes_transactions(two):
    """Behind a pooler in transaction mode the session is shared with other clients: the
    operator's scope is set in each transaction of the block, never in the session."""
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'okrplan.settings');"
        "django.setup(); from django.db import connection;"
        "from okrplan.lib.tenancy import system_scope; from plans.models import Plan\n"
        "with system_scope():\n"
        "    seen = Plan.objects.count()\n"
        "    session = connection.connection.execute("
        "\"SELECT current_setting('okrplan.org_id', true)\").fetchone()[0]\n"
        "    again = Plan.objects.count()\n"
        "print(repr((seen > 0, session, again == seen)))"
    )
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "1", **database_env()}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == repr((True, "", True))
