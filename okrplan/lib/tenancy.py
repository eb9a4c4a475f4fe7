"""Row-level security on PostgreSQL: which organization's rows this connection may touch.

Every tenant table has RLS enabled and forced, with one policy (migration
`notifications/0003_row_level_security`): a row is visible and writable only when its
`organization_id` equals the transaction's setting `okrplan.org_id`, or when that
setting is `system` (operator work that spans organizations). Unset (or empty): no
rows at all, the guard fails closed.

- The app runs as `settings.PG_APP_ROLE` (default `okrplan_app`): neither owner of the
  tables nor superuser nor BYPASSRLS. `role_set` (a `connection_created` receiver) turns
  every new connection into that role, one `SET ROLE` per connection. Only `migrate`
  (and the test database's creation) runs as the connection's own login, the owner:
  `owner()`.
- A request of an organization sets `okrplan.org_id` inside its transaction
  (`set_config(..., true)`, gone at commit): `hierarchy/scope.py` does it in the same
  statement that finds the organization by slug; `request_transaction()` is that
  transaction.
- Operator work (the deadline scan, e-mail delivery, the management commands, the demo
  loader, the benchmark's builders, the Django admin) runs in `system_scope()`.

SQLite has no row-level security: everything here is a no-op there.
"""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial, wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.signals import connection_created
from psycopg.pq import TransactionStatus

GUC = "okrplan.org_id"
SYSTEM = "system"

# The policy's condition (the same on every tenant table; okrplan.E002 checks it is there).
# NULLIF twice: '' (set earlier in the session, then gone) and 'system' are not ids.
POLICY_NAME = "tenant_isolation"
POLICY_CONDITION = (
    f"current_setting('{GUC}', true) = '{SYSTEM}' OR organization_id = "
    f"NULLIF(NULLIF(current_setting('{GUC}', true), ''), '{SYSTEM}')::bigint"
)
_SET_SYSTEM = f"SELECT set_config('{GUC}', '{SYSTEM}', true)"


def _postgres(connection) -> bool:
    return connection.vendor == "postgresql"


def app_role() -> str:
    return settings.PG_APP_ROLE


def pooled() -> bool:
    """Behind a pooler in transaction mode (`DATABASE_POOLER=transaction`): a session is
    the pooler's, shared by every client, so nothing here may leave a setting in it."""
    return settings.DATABASE_POOLER == "transaction"


def role_set(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: run as the app's role from the first statement, one
    `SET ROLE` per connection, and with no organization. Not for the connection to the
    maintenance database (creating and dropping databases), nor one that runs as the
    owner (`owner()`), nor behind a pooler: there the pooler logs in as the app's role
    (docs/scaling.md), and a `SET ROLE` would stay in a session other clients get."""
    if (
        not _postgres(connection)
        or connection.alias == NO_DB_ALIAS
        or getattr(connection, "okrplan_owner", False)
        or not app_role()
        or pooled()
    ):
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {qn(app_role())}; SELECT set_config('{GUC}', '', false)")


def _session_scope_set(sender, connection, scope: str, **kwargs) -> None:
    if _postgres(connection) and connection.alias != NO_DB_ALIAS:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", [GUC, scope])


def session_scope_default(value: str) -> None:
    """Every new connection of this process starts in scope `value` (the test process and
    the benchmark's builders: `system`, for their fixtures), for its whole session. Not
    for the web server or the worker, and never behind a pooler (a session setting would
    reach other clients): they set a scope per transaction."""
    if value != SYSTEM:
        raise ValueError(f"a session scope is {SYSTEM!r}, not {value!r}")
    connection_created.connect(
        partial(_session_scope_set, scope=value), dispatch_uid="okrplan_session_scope", weak=False
    )


@contextmanager
def owner(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run as the connection's own login (the tables' owner): migrations and flush. Never
    around app code."""
    connection = connections[using]
    before = getattr(connection, "okrplan_owner", False)
    connection.okrplan_owner = True
    if _postgres(connection) and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    try:
        yield
    finally:
        connection.okrplan_owner = before
        if not before and connection.connection is not None:  # back to what a new one is
            connection_created.send(sender=connection.__class__, connection=connection)


def request_transaction(using: str = DEFAULT_DB_ALIAS):
    """The transaction an organization's request runs in, so that the organization set
    once holds for all its statements. Inside one already (a test's): that one."""
    connection = connections[using]
    if not _postgres(connection) or connection.in_atomic_block:
        return nullcontext()
    return transaction.atomic(using=using)


def scope_set_sql_of(expression: str = "%s") -> str:
    """SQL that sets this transaction's organization to `expression` (an SQL text)."""
    return f"set_config('{GUC}', {expression}, true)"


@contextmanager
def org_scope(org_id: int, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """One transaction in organization `org_id`'s rows only (tasks, tests). In a
    transaction already: a savepoint, and the organization stays set in the enclosing
    transaction after it."""
    connection = connections[using]
    with transaction.atomic(using=using):
        if _postgres(connection):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {scope_set_sql_of()}", [str(int(org_id))])
        yield


def _each_transaction_in_system(execute, sql, params, many, context):
    """An execute wrapper: the statement that starts a transaction sets the scope for it
    first (in autocommit, the statement is a transaction of its own: made one)."""
    raw = context["connection"].connection
    if raw.info.transaction_status == TransactionStatus.IDLE:
        if raw.autocommit:
            with raw.transaction():
                raw.execute(_SET_SYSTEM)
                return execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("SET TRANSACTION"):  # must come first
            result = execute(sql, params, many, context)
            raw.execute(_SET_SYSTEM)
            return result
        raw.execute(_SET_SYSTEM)  # psycopg begins the transaction with it
    return execute(sql, params, many, context)


@contextmanager
def system_scope(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Operator work across organizations, over any number of transactions: every
    transaction that runs in the block is in scope `system`, set inside it
    (`set_config(..., true)`), so that nothing outlives it in the session (a pooler in
    transaction mode hands the session to other clients). Inside a transaction already
    (the organization switcher in an organization's page): that transaction until the
    end of the block, then its organization again.

    The scope's statements go to the driver directly: they are the scope's, not the
    work's, and cost no round trip of their own in a transaction (query budgets count
    the work)."""
    connection = connections[using]
    if not _postgres(connection):
        yield
        return
    depth = getattr(connection, "okrplan_system", 0)
    connection.okrplan_system = depth + 1
    try:
        if connection.in_atomic_block:
            connection.ensure_connection()
            raw = connection.connection
            row = raw.execute(
                f"SELECT current_setting('{GUC}', true), {_SET_SYSTEM.removeprefix('SELECT ')}"
            ).fetchone()
            before = SYSTEM if depth else (row[0] or "")
            try:
                yield
            finally:
                if raw.info.transaction_status == TransactionStatus.INTRANS:  # not failed
                    raw.execute("SELECT set_config(%s, %s, true)", [GUC, before])
        elif depth:
            yield  # the enclosing block's wrapper is on the connection
        else:
            with connection.execute_wrapper(_each_transaction_in_system):
                yield
    finally:
        connection.okrplan_system = depth


def system_view(view):
    """A page or API that spans organizations by design (the caller's organizations, the
    Django admin): in `system_scope`; the view itself filters what it shows."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with system_scope():
            return view(*args, **kwargs)

    return wrapper


class RequestScopeMiddleware:
    """The Django admin (staff only, every organization by design) runs in
    `system_scope`. Every other request starts with no organization: in production its
    connection's session has none (every scope is set per transaction)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin = None

    def _is_admin(self, request) -> bool:
        if self._admin is None:
            from django.urls import NoReverseMatch, reverse

            try:
                self._admin = reverse("admin:index")
            except NoReverseMatch:
                self._admin = ""
        return bool(self._admin) and request.path_info.startswith(self._admin)

    def __call__(self, request):
        if self._is_admin(request):
            with system_scope():
                return self.get_response(request)
        return self.get_response(request)


# --- The check (okrplan.E002) ----------------------------------------------------


def policy_problems(connection, models) -> list[str]:
    """What the tables of `models` (the tenant models) lack of their row-level security;
    empty when they have it all."""
    tables = {m._meta.db_table: m for m in models}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
            "WHERE c.relname = ANY(%s) AND c.relkind = 'r' "
            "AND c.relnamespace = current_schema()::regnamespace",
            [list(tables)],
        )
        flags = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
        cursor.execute(
            "SELECT tablename, cmd, qual, with_check FROM pg_policies "
            "WHERE schemaname = current_schema() AND policyname = %s",
            [POLICY_NAME],
        )
        policies = {name: (cmd, qual, check) for name, cmd, qual, check in cursor.fetchall()}
        role = app_role()
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
        role_row = cursor.fetchone()
    problems = []
    for table, model in tables.items():
        if table not in flags:
            continue  # not created yet: `migrate` will, with its policy
        enabled, forced = flags[table]
        what = f"{model._meta.label_lower} (table {table})"
        if not enabled:
            problems.append(f"{what}: row-level security is not enabled.")
        if not forced:
            problems.append(f"{what}: row-level security is not forced (the owner passes).")
        cmd, qual, check = policies.get(table, (None, None, None))
        if cmd != "ALL" or GUC not in (qual or "") or GUC not in (check or ""):
            problems.append(
                f"{what}: no policy {POLICY_NAME!r} for ALL commands with USING and WITH "
                f"CHECK on {GUC}."
            )
    if role and flags:
        if role_row is None:
            problems.append(f"The app's role {role!r} (PG_APP_ROLE) does not exist.")
        elif role_row[0] or role_row[1]:
            problems.append(f"The app's role {role!r} is superuser or BYPASSRLS: RLS is void.")
    return problems


def policy_errors(databases, models) -> list:
    """okrplan.E002 on `databases`: every table of `models` has RLS enabled, forced, and
    its policy (the check itself is `okrplan.orgdata.policy_check`, which knows them)."""
    from django.core import checks

    errors = []
    for alias in databases or []:
        connection = connections[alias]
        if not _postgres(connection):
            continue
        errors += [
            checks.Error(
                problem,
                hint="Add TENANT_SQL of notifications/migrations/0003_row_level_security.py "
                "to the model's migration (okrplan/lib/tenancy.py).",
                id="okrplan.E002",
            )
            for problem in policy_problems(connection, models)
        ]
    return errors
