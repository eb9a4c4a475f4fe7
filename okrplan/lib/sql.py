"""Hand-written SQL for a few hot statements, with the ORM's own column metadata,
value preparation and result converters.

The ORM compiles every queryset anew: for the plan save's locking read (four tables,
two `EXISTS`) that compilation alone costs more than the statement itself. These
helpers write the SQL once from the models' `_meta` (so a renamed column cannot be
missed), prepare parameters with each field's `get_db_prep_save` and convert results
with the converters Django itself would apply (`connection.ops.get_db_converters` and
the field's `from_db_value`), so the values that come back are exactly the ORM's.

They still go through `connection.cursor()`: statements are logged and counted like any
other (`django_assert_num_queries`), and run in the caller's transaction.
"""

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Field, Model


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    """The model's table, quoted."""
    return qn(model._meta.db_table)


def id_in_range(model: type[Model], pk) -> bool:
    """Whether `pk` fits the model's primary key column. The ORM answers "no such row"
    for an id out of range; given to a hand-written statement, SQLite's driver refuses
    an integer past 64 bits with an error."""
    low, high = connection.ops.integer_field_range(model._meta.pk.get_internal_type())
    return isinstance(pk, int) and (low is None or low <= pk) and (high is None or pk <= high)


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def prepared_cursor():
    """A cursor for the reads that run on every save and every view.

    On PostgreSQL a server-side binding cursor, so that psycopg prepares each of these
    statements once per connection (`prepare_threshold` in settings) and PostgreSQL stops
    planning them anew on every call: the locking read's planning (four tables, two
    `EXISTS`) cost more than running it. Django's own cursors bind on the client and are
    never prepared, so nothing else changes. Wrapped like Django's own cursors: logged,
    counted, in the caller's transaction. Elsewhere, Django's cursor."""
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return _LoggedCursor(raw, connection)
    return CursorWrapper(raw, connection)


def fetch_one(sql: str, params: Sequence) -> tuple | None:
    """The first row of a hot read (`prepared_cursor`), or None."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: Sequence) -> list[tuple]:
    """Every row of a hot read (`prepared_cursor`)."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _LoggedCursor(CursorDebugWrapper):
    """Logs the statement with its values, as Django's cursors do: once prepared, psycopg
    keeps no query text for Django's `last_executed_query` to read back."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        if not many and params is not None:
            sql = self.db.ops.compose_sql(sql, params)
        return super().debug_sql(sql, params, use_last_executed_query=False, many=many)


class Columns:
    """Columns of one model in a SELECT under `alias`, and their conversion back.

    With no `fields`, every concrete field in model order, so that `instance()` builds a
    complete model instance (nothing deferred, no lazy load later)."""

    def __init__(self, model: type[Model], alias: str, fields: Sequence[str] | None = None):
        self.model = model
        self.alias = alias
        self.fields: list[Field] = (
            list(model._meta.concrete_fields)
            if fields is None
            else [model._meta.get_field(name) for name in fields]
        )
        self.complete = fields is None
        self.attnames = [f.attname for f in self.fields]
        self._converters: dict[str, list] = {}
        self._sql: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def sql(self) -> str:
        vendor = connection.vendor
        if vendor not in self._sql:
            self._sql[vendor] = ", ".join(f"{qn(self.alias)}.{qn(f.column)}" for f in self.fields)
        return self._sql[vendor]

    def _converters_for(self, conn) -> list:
        if conn.vendor not in self._converters:
            converters = []
            for f in self.fields:
                col = f.get_col(self.alias)
                found = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
                converters.append([(c, col) for c in found])
            self._converters[conn.vendor] = converters
        return self._converters[conn.vendor]

    def converter(self):
        """A function converting this group's values of one row, for the rows of one
        statement (the converters are looked up once, not per row)."""
        conn = connections[DEFAULT_DB_ALIAS]
        plan = [
            (i, converters) for i, converters in enumerate(self._converters_for(conn)) if converters
        ]

        def convert(values: Sequence) -> list:
            out = list(values)
            for i, converters in plan:
                value = out[i]
                for converter, col in converters:
                    value = converter(value, col, conn)
                out[i] = value
            return out

        return convert

    def convert(self, values: Sequence) -> list:
        return self.converter()(values)

    def instance(self, values: Sequence) -> Model:
        assert self.complete, "only complete rows make model instances"  # nosec B101  # a caller's bug, not input
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, self.convert(values))


def split(row: Sequence, *groups: Columns) -> tuple[list[Sequence], Sequence]:
    """A row of several groups' columns, cut into one slice per group and the rest."""
    parts, start = [], 0
    for group in groups:
        parts.append(row[start : start + len(group)])
        start += len(group)
    return parts, row[start:]


def prepared(model: type[Model], values: dict[str, object]) -> tuple[list[str], list]:
    """Quoted columns and values made ready for the database by each field itself."""
    columns, params = [], []
    for name, value in values.items():
        field = model._meta.get_field(name)
        columns.append(qn(field.column))
        params.append(field.get_db_prep_save(value, connection))
    return columns, params


def update_row_sql(model: type[Model], pk: int, values: dict[str, object]) -> tuple[str, list]:
    columns, params = prepared(model, values)
    assignments = ", ".join(f"{column} = %s" for column in columns)
    table, pk_column = qn(model._meta.db_table), qn(model._meta.pk.column)
    return f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s", [*params, pk]


def update_column_sql(
    model: type[Model], name: str, values_by_pk: dict[int, object]
) -> tuple[str, list]:
    """One column of several rows in one statement (`CASE pk WHEN … THEN …`)."""
    field = model._meta.get_field(name)
    table, pk_column = qn(model._meta.db_table), qn(model._meta.pk.column)
    whens, params = [], []
    for pk, value in values_by_pk.items():
        whens.append("WHEN %s THEN %s")
        params += [pk, field.get_db_prep_save(value, connection)]
    sql = (
        f"UPDATE {table} SET {qn(field.column)} = CASE {pk_column} {' '.join(whens)} END "
        f"WHERE {pk_column} IN ({placeholders(len(values_by_pk))})"
    )
    return sql, [*params, *values_by_pk]


def insert_row_sql(instance: Model) -> tuple[str, list]:
    """The insert of an unsaved instance (its `auto_now_add` fields set as `save()` would),
    returning its new primary key."""
    model = type(instance)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns, params = [], []
    for field in fields:
        columns.append(qn(field.column))
        params.append(field.get_db_prep_save(field.pre_save(instance, add=True), connection))
    table, pk_column = qn(model._meta.db_table), qn(model._meta.pk.column)
    values = placeholders(len(params))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) RETURNING {pk_column}",
        params,
    )


def _saved(instance: Model, pk: int) -> None:
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


def update_column(model: type[Model], name: str, values_by_pk: dict[int, object]) -> None:
    if values_by_pk:
        with connection.cursor() as cursor:
            cursor.execute(*update_column_sql(model, name, values_by_pk))


class Batch:
    """Writes that go together, sent as one statement on PostgreSQL (data-modifying
    `WITH` clauses: one round trip instead of one per write) and one after another
    elsewhere (SQLite runs in process: a statement costs no round trip).

    The writes must touch distinct rows (PostgreSQL runs the clauses of one statement
    on one snapshot); an insert, whose new key is wanted, comes last."""

    def __init__(self) -> None:
        self._statements: list[tuple[str, list]] = []
        self._inserted: Model | None = None

    def update_row(self, model: type[Model], pk: int, values: dict[str, object]) -> None:
        self._add(update_row_sql(model, pk, values))

    def update_column(self, model: type[Model], name: str, values_by_pk: dict) -> None:
        if values_by_pk:
            self._add(update_column_sql(model, name, values_by_pk))

    def insert_row(self, instance: Model) -> None:
        self._add(insert_row_sql(instance))
        self._inserted = instance

    def _add(self, statement: tuple[str, list]) -> None:
        assert self._inserted is None, "the insert comes last"  # nosec B101  # a caller's bug, not input
        self._statements.append(statement)

    def execute(self) -> None:
        if not self._statements:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                *first, (last, _) = self._statements
                clauses = [f"w{i} AS ({sql})" for i, (sql, _) in enumerate(first)]
                sql = f"WITH {', '.join(clauses)} {last}" if clauses else last
                cursor.execute(sql, [p for _, params in self._statements for p in params])
            else:
                for sql, params in self._statements:
                    cursor.execute(sql, params)
            if self._inserted is not None:
                _saved(self._inserted, cursor.fetchone()[0])
