"""Django's `migrate`, as the tables' owner (DATABASE_URL's login), not as the app's role.

Every other connection of okrplan runs as `PG_APP_ROLE` (okrplan/lib/tenancy.py), which
may read and write rows but not create or alter tables.
"""

from django.core.management.commands import migrate

from okrplan.lib.tenancy import migrating


class Command(migrate.Command):
    def handle(self, *args, **options):
        with migrating():
            return super().handle(*args, **options)
