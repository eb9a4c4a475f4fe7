"""Rounds numbered 1, 2, 3 … per shared KR (issue 16 §5): the rounds there are, in the
order they started, then the column required and unique per shared KR."""

from django.db import migrations, models

NUMBER_SQL = """
UPDATE notifications_round SET number = numbered.n
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY parent_kr_id ORDER BY started_at, id) AS n
    FROM notifications_round
) AS numbered
WHERE notifications_round.id = numbered.id
"""


def number_rounds(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            # every organization's rows (row-level security, 0003), in this transaction only
            cursor.execute("SELECT set_config('okrplan.org_id', 'system', true)")
        cursor.execute(NUMBER_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0008_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="round",
            name="number",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(number_rounds, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="round",
            name="number",
            field=models.PositiveIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="round",
            constraint=models.UniqueConstraint(
                fields=("organization", "parent_kr", "number"), name="round_number_per_kr"
            ),
        ),
    ]
