"""Erase mode: the one way past the database's guard on rows kept for good.

Plan revisions and round events are refused UPDATE and DELETE by triggers
(`plans/migrations/0003_*`, `notifications/migrations/0002_*`). Deleting them is
allowed only inside `erasing()`, which two commands use: `manage.py erase_org`
(an organization and all its rows, okrplan/orgdata.py) and `manage.py flush`
(Django's test runner flushes between transactional tests). Nothing in the app does.

On PostgreSQL erase mode is the transaction-local setting `okrplan.erasing = on`
(`set_config(..., true)`: gone at commit or rollback). On SQLite, which has no
session settings, the DELETE trigger asks the SQL function `okrplan_erasing()`,
which answers this connection's flag; Django registers it on every connection it
opens. A connection that did not register it (the `sqlite3` shell) gets "no such
function" from the trigger: the guard fails closed.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction

_FLAG = "okrplan_erasing"


def sqlite_function_install(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: give SQLite connections `okrplan_erasing()`."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            _FLAG, 0, lambda: int(getattr(connection, _FLAG, False))
        )


@contextmanager
def erasing(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Within one transaction, let this connection delete revisions and round events."""
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('okrplan.erasing', 'on', true)")
            yield
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('okrplan.erasing', 'off', true)")
            return
        before = getattr(connection, _FLAG, False)
        setattr(connection, _FLAG, True)
        try:
            yield
        finally:
            setattr(connection, _FLAG, before)
