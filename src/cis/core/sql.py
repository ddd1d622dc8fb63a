"""Plain SQL for the few statements on the hottest paths (sign-in, token grants, issuance).

The ORM composes and compiles a statement in 0.2-1 ms; SQLite runs a one-row statement in about
25 us. On the paths that run thousands of times a second, the statements are written out here
instead, in SQL that SQLite and PostgreSQL both read, with table and column names taken from the
models so that a renamed field fails loudly in the tests rather than silently here. Values go
through the backend's own adapters (`when`, `prep`), so what is stored is what the ORM would
have stored, and the ORM reads it back unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.utils import timezone


def connection() -> BaseDatabaseWrapper:
    conn: BaseDatabaseWrapper = transaction.get_connection()
    return conn


def rows(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection().cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def one(sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    with connection().cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return tuple(row) if row is not None else None


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run a statement; the number of rows it changed."""
    with connection().cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def when(value: dt.datetime | None) -> Any:
    """A datetime as the backend stores it (UTC text on SQLite, timestamptz on PostgreSQL)."""
    return connection().ops.adapt_datetimefield_value(value)


def read_when(value: Any) -> dt.datetime | None:
    """A datetime column read by plain SQL, as the ORM would give it back (aware, UTC)."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def prep(model: type[Model], field: str, value: Any) -> Any:
    """A value as the model's field would save it (JSON, UUIDs, enums)."""
    return model._meta.get_field(field).get_db_prep_save(value, connection())  # type: ignore[union-attr]


def table(model: type[Model]) -> str:
    return f'"{model._meta.db_table}"'


def column(model: type[Model], field: str) -> str:
    return f'"{model._meta.get_field(field).column}"'  # type: ignore[union-attr]


def columns(model: type[Model], fields: Sequence[str]) -> str:
    return ", ".join(column(model, f) for f in fields)


def insert_sql(model: type[Model], fields: Sequence[str], *, returning: str = "") -> str:
    """INSERT INTO the model's table, one placeholder per field, optionally RETURNING a column."""
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table(model)} ({columns(model, fields)}) VALUES ({marks})"  # noqa: S608
    return f"{sql} RETURNING {column(model, returning)}" if returning else sql


def copy_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Load many rows into the model's table at once: PostgreSQL's COPY, or batched INSERTs on
    SQLite. Values are given as the ORM would save them (datetimes aware, JSON as text); no
    signal, save() or auto_now runs, so the caller gives every column. Returns the row count."""
    conn = connection()
    count = 0
    if conn.vendor == "postgresql":
        statement = f"COPY {table(model)} ({columns(model, fields)}) FROM STDIN"
        with conn.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    insert = insert_sql(model, fields)
    batch: list[Sequence[Any]] = []
    with conn.cursor() as cursor:
        for row in rows:
            batch.append([_sqlite_value(conn, value) for value in row])
            if len(batch) == COPY_BATCH:
                cursor.executemany(insert, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(insert, batch)
            count += len(batch)
    return count


COPY_BATCH = 5000


def copy_instances(model: type[Model], instances: Sequence[Model], *, key: str) -> int:
    """bulk_create for a file's worth of new rows: copy_rows (COPY on PostgreSQL) rather than
    the ORM's bulk INSERT, which spent longer composing its statements than PostgreSQL spent
    running them (bench/README.md, issue 14). Each instance then gets its id, read back by
    `key`, a unique field. auto_now and auto_now_add fields are set to now; JSON fields are
    prepared as the ORM would; no signal or save() runs."""
    if not instances:
        return 0
    conn = connection()
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in instances:
                setattr(obj, f.attname, now)
    prepared = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    names = [f.attname for f in fields]

    def values(obj: Model) -> list[Any]:
        row = [getattr(obj, name) for name in names]
        for i, name in enumerate(names):
            if name in prepared:
                row[i] = model._meta.get_field(name).get_db_prep_save(row[i], conn)  # type: ignore[union-attr]
        return row

    count = copy_rows(model, [f.name for f in fields], (values(obj) for obj in instances))
    by_key = {getattr(obj, key): obj for obj in instances}
    wanted = list(by_key)
    for start in range(0, len(wanted), COPY_BATCH):
        chunk = wanted[start : start + COPY_BATCH]
        for value, pk in model._default_manager.filter(**{f"{key}__in": chunk}).values_list(
            key, "pk"
        ):
            obj = by_key[value]
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = conn.alias
    return count


def _sqlite_value(conn: BaseDatabaseWrapper, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return conn.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def reset_sequences(*models: type[Model]) -> None:
    """After rows were loaded with their ids given: new rows continue after the largest id."""
    from django.core.management.color import no_style  # noqa: PLC0415

    conn = connection()
    statements = conn.ops.sequence_reset_sql(no_style(), list(models))
    with conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
