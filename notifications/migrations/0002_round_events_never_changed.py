"""The database refuses to change or delete a round event (docs/reliability.md).

The same guard as plan revisions (plans 0003, which creates the PostgreSQL trigger
function). On SQLite, a later migration that rebuilds the table drops its triggers:
create them again in that migration.
"""

from django.db import migrations

TABLE = "notifications_roundevent"
WHAT = "round events"

FORWARD = {
    "postgresql": [
        f"CREATE TRIGGER {TABLE}_never_changed BEFORE UPDATE OR DELETE ON {TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION okrplan_never_changed('{WHAT}')"
    ],
    "sqlite": [
        f"CREATE TRIGGER {TABLE}_never_changed BEFORE UPDATE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{WHAT} are never changed'); END",
        f"CREATE TRIGGER {TABLE}_never_deleted BEFORE DELETE ON {TABLE} "
        f"WHEN NOT okrplan_erasing() "
        f"BEGIN SELECT RAISE(ABORT, '{WHAT} are never deleted'); END",
    ],
}
BACKWARD = {
    "postgresql": [f"DROP TRIGGER {TABLE}_never_changed ON {TABLE}"],
    "sqlite": [f"DROP TRIGGER {TABLE}_never_changed", f"DROP TRIGGER {TABLE}_never_deleted"],
}


def run(statements: dict[str, list[str]]):
    def apply(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial"), ("plans", "0003_revisions_never_changed")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]
