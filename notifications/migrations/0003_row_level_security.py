"""Row-level security on every tenant table, and the role the app runs as (PostgreSQL).

Each tenant table gets RLS enabled and forced (the owner too is subject to it) and one
policy, `tenant_isolation`, for every command: rows are visible (USING) and may be
written (WITH CHECK) only when their `organization_id` is the transaction's
`okrplan.org_id`, or when that is `system`. Unset: no rows. See okrplan/lib/tenancy.py
and docs/reliability.md "Row-level security".

The role `settings.PG_APP_ROLE` (default `okrplan_app`) is created if missing: NOLOGIN,
not superuser, not BYPASSRLS, owner of nothing; granted the rows of every table of the
schema (and of the tables later migrations create, by default privileges). Roles belong
to the cluster, not the database: it is never dropped here.

A new tenant model needs the same three statements in its migration (`TENANT_SQL`);
okrplan.E002 (`manage.py check --database default`) fails until it has them. SQLite:
nothing (it has no row-level security).
"""

from django.conf import settings
from django.db import migrations

TABLES = [
    "hierarchy_membership",
    "hierarchy_department",
    "hierarchy_cycle",
    "hierarchy_objective",
    "hierarchy_keyresult",
    "hierarchy_dependency",
    "plans_plan",
    "plans_planrevision",
    "plans_checkin",
    "plans_importbatch",
    "plans_historypoint",
    "notifications_propagationrule",
    "notifications_round",
    "notifications_step",
    "notifications_roundevent",
    "notifications_notification",
]

CONDITION = (
    "current_setting('okrplan.org_id', true) = 'system' OR organization_id = "
    "NULLIF(NULLIF(current_setting('okrplan.org_id', true), ''), 'system')::bigint"
)

TENANT_SQL = [
    "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY tenant_isolation ON {{table}} FOR ALL USING ({CONDITION}) "
    f"WITH CHECK ({CONDITION})",
]

TENANT_REVERSE_SQL = [
    "DROP POLICY IF EXISTS tenant_isolation ON {table}",
    "ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
    "ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
]

# %(role)s: a quoted identifier; %(name)s: the same as a string literal.
ROLE_SQL = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %(name)s) THEN
        BEGIN
            CREATE ROLE %(role)s NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a migration of another database of the cluster
        END;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT %%I TO %%I', %(name)s, current_user);  -- to SET ROLE to it
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO %(role)s;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %(role)s;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %(role)s;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %(role)s;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %(role)s;
"""

ROLE_REVERSE_SQL = """
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM %(role)s;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM %(role)s;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %(role)s;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %(role)s;
REVOKE USAGE ON SCHEMA public FROM %(role)s;
"""


def _role_sql(schema_editor, sql: str) -> str:
    role = settings.PG_APP_ROLE
    name = role.replace("'", "''")
    return sql % {"role": schema_editor.quote_name(role), "name": f"'{name}'"}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for sql in TENANT_SQL:
            schema_editor.execute(sql.format(table=schema_editor.quote_name(table)))
    if settings.PG_APP_ROLE:
        schema_editor.execute(_role_sql(schema_editor, ROLE_SQL), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    if settings.PG_APP_ROLE:
        schema_editor.execute(_role_sql(schema_editor, ROLE_REVERSE_SQL), params=None)
    for table in TABLES:
        for sql in TENANT_REVERSE_SQL:
            schema_editor.execute(sql.format(table=schema_editor.quote_name(table)))


class Migration(migrations.Migration):
    dependencies = [
        ("hierarchy", "0002_organization_checkin_grace_hours"),
        ("plans", "0003_revisions_never_changed"),
        ("notifications", "0002_round_events_never_changed"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("sessions", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(forward, backward)]
