"""Django's `migrate`, as the tables' owner (DATABASE_URL's login), not as the app's role.

Every other connection of okrplan runs as `PG_APP_ROLE` (okrplan/lib/tenancy.py), which
may read and write rows but not create or alter tables.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.commands import migrate

from okrplan.lib.tenancy import owner


class Command(migrate.Command):
    def execute(self, *args, **options):
        # execute, not handle: the system checks run before handle, as the owner too
        for database in settings.DATABASES.values():
            if database["ENGINE"] == "django.db.backends.sqlite3":  # its file's folder
                Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        with owner():
            return super().execute(*args, **options)

    def check(self, *args, databases=None, **kwargs):
        # Without the database checks: ours (okrplan.E002) checks what the migrations create.
        return super().check(*args, **kwargs)
