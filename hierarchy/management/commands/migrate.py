"""Django's `migrate`, as the tables' owner (DATABASE_URL's login), not as the app's role.

Every other connection of okrplan runs as `PG_APP_ROLE` (okrplan/lib/tenancy.py), which
may read and write rows but not create or alter tables.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.commands import migrate

from okrplan.lib.tenancy import migrating


class Command(migrate.Command):
    def execute(self, *args, **options):
        # execute, not handle: the system checks run before handle, as the owner too and
        # without okrplan.E002 (the migrations create what it checks)
        for database in settings.DATABASES.values():
            if database["ENGINE"] == "django.db.backends.sqlite3":  # its file's folder
                Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        with migrating():
            return super().execute(*args, **options)
