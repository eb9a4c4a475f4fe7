"""Django's `flush`, in erase mode: it empties every table, kept rows included.

Plan revisions and round events refuse DELETE in the database (okrplan/lib/erasing.py).
Emptying the whole database is the one deliberate way past that: Django's test runner
flushes between transactional tests (`live_server`, workers), and on SQLite a flush is
a `DELETE FROM` per table, which the triggers would refuse. On PostgreSQL a flush is a
`TRUNCATE`, which row triggers do not see; erase mode costs it nothing.
"""

from django.core.management.commands import flush

from okrplan.lib.erasing import erasing
from okrplan.lib.tenancy import owner


class Command(flush.Command):
    help = flush.Command.help + " Runs in erase mode: plan revisions and round events go too."

    def handle(self, **options):
        # As the tables' owner: TRUNCATE is not the app role's (okrplan/lib/tenancy.py).
        with owner(using=options["database"]), erasing(using=options["database"]):
            return super().handle(**options)
