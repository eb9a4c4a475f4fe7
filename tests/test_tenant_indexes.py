"""The main tenant queries are served by indexes that lead with organization_id.

On PostgreSQL only (skipped on SQLite): the real requests run through the API with their
statements captured, and each statement is EXPLAINed (`enable_seqscan` off, so the
question is which index can serve it, not whether a small test table is cheaper to
scan). The lists of a tenant (KRs of a cycle, a shared KR's children, check-ins,
revisions, the inbox, steps) must be read through an index whose first column is
`organization_id`: their cost then depends on the tenant's rows, not on how many other
tenants share the table, and the same indexes are the ones a table distributed by
`organization_id` (docs/scaling.md) keeps. A single row found by its id (a KR, its plan)
goes through its primary or unique key; the statement must still name the organization,
so that it can be routed to the tenant's shard.
"""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bench.tenants import bench_tenant, tenants_build
from hierarchy.models import Cycle, KeyResult, Organization
from okrplan.lib import tenancy

pytestmark = [
    pytest.mark.pg,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="EXPLAIN plans of PostgreSQL"),
]


@pytest.fixture
def tenants(db):
    tenants_build(prefix="other", count=20)
    tenant = bench_tenant()
    tenants_build(prefix="later", count=5)
    with tenancy.owner(), connection.cursor() as cursor:  # the tables' owner may
        cursor.execute("ANALYZE")
    return tenant


def _indexes() -> dict[str, tuple[str, str, bool]]:
    """index name → (table, first column, unique)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, t.relname, a.attname, x.indisunique
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
            WHERE t.relnamespace = 'public'::regnamespace
            """
        )
        return {index: (table, column, unique) for index, table, column, unique in cursor}


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _scans(sql: str, org_id: int) -> list[dict]:
    """The plan of `sql` in the request's organization: row-level security's condition
    (okrplan/lib/tenancy.py) is planned with the setting's value, as in the request."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('okrplan.org_id', true)")
        (scope,) = cursor.fetchone()
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SELECT set_config('okrplan.org_id', %s, true)", [str(org_id)])
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            (raw,) = cursor.fetchone()
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("SELECT set_config('okrplan.org_id', %s, true)", [scope])
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return [node for node in _nodes(plan) if "Scan" in node["Node Type"]]


def _access(path: str, client: APIClient, table: str) -> list[tuple[str, str, dict]]:
    """How each captured SELECT of `path` reads `table`: (sql, kind, node) per scan."""
    indexes = _indexes()
    org_id = Organization.objects.get(slug=path.split("/")[4]).pk  # /api/v1/orgs/{slug}/
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    found = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or f'"{table}"' not in sql:
            continue
        for node in _scans(sql, org_id):
            index = node.get("Index Name")
            if index:
                on, column, _unique = indexes[index]
                if on == table:
                    found.append((sql, "org" if column == "organization_id" else column, node))
            elif node.get("Relation Name") == table:
                found.append((sql, node["Node Type"], node))
    return found


def _client(user_id: int) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user_id=user_id)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


LISTS = [
    ("kr list", "/krs/?cycle={cycle}", "hierarchy_keyresult"),
    ("alignment children", "/krs/{shared}/alignment/", "hierarchy_keyresult"),
    ("check-ins", "/krs/{child}/checkins/", "plans_checkin"),
    ("revisions", "/krs/{child}/history/", "plans_planrevision"),
    ("notifications inbox", "/notifications/?unread=1", "notifications_notification"),
    ("steps", "/steps/?mine=1&open=1", "notifications_step"),
]


def _path(tenant, template: str) -> str:
    cycle = Cycle.objects.get(organization__slug=tenant.slug).pk
    child = tenant.children[0]
    return f"/api/v1/orgs/{tenant.slug}" + template.format(
        cycle=cycle, shared=tenant.shared_kr, child=child
    )


@pytest.mark.parametrize(("name", "template", "table"), LISTS, ids=[x[0] for x in LISTS])
def test_it_reads_a_tenants_list_through_an_organization_index(tenants, name, template, table):
    child = KeyResult.objects.get(pk=tenants.children[0])
    user = child.owner_id if name == "steps" else None
    client = _client(user or KeyResult.objects.get(pk=tenants.shared_kr).owner_id)
    found = _access(_path(tenants, template), client, table)
    assert found, f"{name}: no statement reads {table}"
    point = [x for x in found if x[1] == "id"]  # one row by its primary key: not a list
    lists = [x for x in found if x[1] != "id"]
    assert lists, f"{name}: only point reads of {table}: {point}"
    for sql, kind, node in lists:
        assert kind == "org", f"{name}: {table} read by {kind} ({node['Node Type']}):\n{sql}"


def test_it_reads_a_plan_by_its_kr_within_the_organization(tenants):
    client = _client(KeyResult.objects.get(pk=tenants.shared_kr).owner_id)
    path = _path(tenants, f"/krs/{tenants.children[0]}/plan/")
    found = _access(path, client, "plans_plan")
    assert found
    for sql, kind, node in found:
        assert kind in ("kr_id", "org"), (kind, node, sql)  # its unique KR, or organization
        assert re.search(r'organization_id"? =', sql), sql  # routable to the tenant's shard
