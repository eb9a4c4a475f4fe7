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
from contextlib import contextmanager, nullcontext, suppress

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

GUC = "okrplan.org_id"
SYSTEM = "system"

# The policy's condition (the same on every tenant table; okrplan.E002 checks it is there).
# NULLIF twice: '' (set earlier in the session, then gone) and 'system' are not ids.
POLICY_NAME = "tenant_isolation"
POLICY_CONDITION = (
    f"current_setting('{GUC}', true) = '{SYSTEM}' OR organization_id = "
    f"NULLIF(NULLIF(current_setting('{GUC}', true), ''), '{SYSTEM}')::bigint"
)

_state = {"owner": False, "migrating": False, "session_scope": ""}


def _postgres(connection) -> bool:
    return connection.vendor == "postgresql"


def app_role() -> str:
    return settings.PG_APP_ROLE


def role_set(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: run as the app's role (and, in a process that
    chose one with `session_scope_default`, in that scope) from the first statement."""
    if not _postgres(connection) or _state["owner"] or not app_role():
        return
    qn = connection.ops.quote_name
    scope = _state["session_scope"]  # "" or SYSTEM (session_scope_default): a literal
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {qn(app_role())}; SELECT set_config('{GUC}', '{scope}', false)")


def session_scope_default(value: str) -> None:
    """The scope every new connection of this process starts in (the test process:
    `system`, for its fixtures). Requests still start with none (`RequestScopeMiddleware`)."""
    if value not in ("", SYSTEM):
        raise ValueError(f"a session scope is {SYSTEM!r} or none, not {value!r}")
    _state["session_scope"] = value


def owner_begin(using: str = DEFAULT_DB_ALIAS) -> bool:
    """From now on, connections run as their own login (the tables' owner); the open one
    too. The previous state, for `owner_end`."""
    connection = connections[using]
    before = _state["owner"]
    _state["owner"] = True
    if _postgres(connection) and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    return before


def owner_end(before: bool = False, using: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[using]
    _state["owner"] = before
    if not before and _postgres(connection) and connection.connection is not None:
        role_set(None, connection)


@contextmanager
def owner(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run as the connection's own login (the tables' owner): migrations, the test
    database's creation and flush. Never around app code."""
    before = owner_begin(using)
    try:
        yield
    finally:
        owner_end(before, using)


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
    """One transaction in organization `org_id`'s rows only (tasks, tests)."""
    connection = connections[using]
    nested = connection.in_atomic_block
    before = _raw_get(connection) if nested and _postgres(connection) else ""
    with transaction.atomic(using=using):
        if _postgres(connection):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {scope_set_sql_of()}", [str(int(org_id))])
        yield
    if nested and _postgres(connection):
        # released into the enclosing transaction: give it its scope back (rolled back,
        # the savepoint took the setting with it)
        _raw_restore(connection, before)


@contextmanager
def system_scope(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Operator work across organizations, over any number of transactions: the
    connection's session in scope `system` until the end of the block, then back to what
    it was. If that cannot be done, the connection is closed rather than left open in it."""
    connection = connections[using]
    if not _postgres(connection):
        yield
        return
    connection.ensure_connection()
    nested = connection.in_atomic_block
    before = _raw_get(connection) if nested else ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [GUC, SYSTEM])
    try:
        yield
    finally:
        try:
            if nested:  # the session's value after the enclosing transaction, then its own
                _raw_set(connection, _state["session_scope"], local=False)
                _raw_set(connection, before, local=True)
            elif connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config(%s, %s, false)", [GUC, _state["session_scope"]]
                    )
        except Exception:
            connection.close()
            raise


def system_view(view):
    """A page or API that spans organizations by design (the caller's organizations, the
    Django admin): in `system_scope`; the view itself filters what it shows."""
    from functools import wraps

    @wraps(view)
    def wrapper(*args, **kwargs):
        with system_scope():
            return view(*args, **kwargs)

    return wrapper


# --- Bookkeeping of an enclosing transaction -----------------------------------------
# A request or a scope nested in a transaction that is not its own (a test's, which
# holds the whole test) must give that transaction its scope back afterwards. In
# production the request's transaction is its own and commits the setting away, so
# these statements exist only when nested: they go to the driver directly, not through
# Django's cursor, so that pinned statement counts are those of production.


def _raw_get(connection) -> str:
    connection.ensure_connection()
    row = connection.connection.execute("SELECT current_setting(%s, true)", [GUC]).fetchone()
    return (row[0] if row else None) or ""


def _raw_set(connection, value: str, *, local: bool) -> None:
    connection.connection.execute("SELECT set_config(%s, %s, %s)", [GUC, value, local])


def _raw_restore(connection, value: str) -> None:
    import psycopg

    # the enclosing transaction failed: its rollback restores the scope
    with suppress(psycopg.Error):
        _raw_set(connection, value, local=True)


class RequestScopeMiddleware:
    """Every request starts with no organization set, as it does in production (where
    its connection's session has none); the Django admin (staff only, every
    organization by design) runs in `system_scope`.

    Inside a transaction that is not the request's own (a test's), clear the scope, and
    give it back after."""

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
        connection = connections[DEFAULT_DB_ALIAS]
        if not _postgres(connection):
            return self.get_response(request)
        nested = connection.in_atomic_block
        if nested:
            before = _raw_get(connection)
            _raw_set(connection, "", local=True)
        try:
            if self._is_admin(request):
                with system_scope():
                    return self.get_response(request)
            return self.get_response(request)
        finally:
            if nested:
                _raw_restore(connection, before)


# --- The check (okrplan.E002) ----------------------------------------------------


def policy_problems(connection) -> list[str]:
    """What a tenant table lacks of its row-level security; empty when it has it all."""
    from okrplan.orgdata import label, tenant_models

    tables = {m._meta.db_table: m for m in tenant_models()}
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
        what = f"{label(model)} (table {table})"
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


def policy_check(app_configs=None, databases=None, **kwargs):
    """okrplan.E002: every tenant model's table has RLS enabled, forced, and its policy.
    A database check: `manage.py check --database default` (skipped within `migrate`,
    which is what creates them)."""
    from django.core import checks

    if _state["migrating"]:
        return []
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
            for problem in policy_problems(connection)
        ]
    return errors


@contextmanager
def migrating() -> Iterator[None]:
    """`migrate`: as the owner, and without okrplan.E002 (the migration brings what it checks)."""
    before = _state["migrating"]
    _state["migrating"] = True
    try:
        with owner():
            yield
    finally:
        _state["migrating"] = before
