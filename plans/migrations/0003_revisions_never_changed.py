"""The database refuses to change or delete a plan revision (docs/reliability.md).

PostgreSQL: one trigger function, shared with round events (notifications 0002),
raising `restrict_violation` (Django's IntegrityError); a DELETE passes only in erase
mode (`okrplan.lib.erasing`). SQLite: `RAISE(ABORT, ...)` triggers, the DELETE one
asking `okrplan_erasing()`. On SQLite, a later migration that rebuilds the table
(most `AlterField`s) drops its triggers: create them again in that migration.
"""

from django.db import migrations

PG_FUNCTION = """
CREATE FUNCTION okrplan_never_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('okrplan.erasing', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% are never %', TG_ARGV[0],
        CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'changed' END
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def pg_trigger(table: str, what: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_never_changed BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION okrplan_never_changed('{what}')"
    ]


def sqlite_triggers(table: str, what: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_never_changed BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{what} are never changed'); END",
        f"CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} "
        f"WHEN NOT okrplan_erasing() "
        f"BEGIN SELECT RAISE(ABORT, '{what} are never deleted'); END",
    ]


FORWARD = {
    "postgresql": [PG_FUNCTION, *pg_trigger("plans_planrevision", "plan revisions")],
    "sqlite": sqlite_triggers("plans_planrevision", "plan revisions"),
}
BACKWARD = {
    "postgresql": [
        "DROP TRIGGER plans_planrevision_never_changed ON plans_planrevision",
        "DROP FUNCTION okrplan_never_changed()",
    ],
    "sqlite": [
        "DROP TRIGGER plans_planrevision_never_changed",
        "DROP TRIGGER plans_planrevision_never_deleted",
    ],
}


def run(statements: dict[str, list[str]]):
    def apply(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("plans", "0002_plan_reference_target")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]
