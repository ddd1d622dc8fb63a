"""Model rows read and written in plain SQL on the token endpoint, exactly as the ORM would.

A code exchange is the provider's busiest call, and through the ORM most of its time went in
composing and compiling statements (see cis.core.sql). Here a read selects every concrete column
of a model and turns the row back into an instance with the same converters the ORM applies (so
a datetime is aware, a UUID a UUID, JSON parsed, a boolean a bool), and a write prepares every
field by the field itself (pre_save, get_db_prep_save), as Model.save() does, so the row is the
ORM's row and the toolkit's own code reads it back unchanged. Where a model has save receivers
that the ORM would call, NewRow saves through the ORM instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Generic, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, signals

from cis.core import sql

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


class Reader(Generic[M]):
    """A model's concrete columns as a SELECT list under a table alias, and rows back to instances.

    The converters a column needs depend on the backend, so they are worked out once for each
    database connection, as the ORM's compiler would for the same column.
    """

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.fields: tuple[Field[Any, Any], ...] = tuple(model._meta.concrete_fields)
        self.alias = alias
        self.select = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self.width = len(self.fields)
        self.attnames = [f.attname for f in self.fields]
        self._plans: weakref.WeakKeyDictionary[
            BaseDatabaseWrapper, tuple[tuple[int, tuple[Converter, ...], Any], ...]
        ] = weakref.WeakKeyDictionary()

    def _plan(
        self, connection: BaseDatabaseWrapper
    ) -> tuple[tuple[int, tuple[Converter, ...], Any], ...]:
        plan = self._plans.get(connection)
        if plan is None:
            steps = []
            for i, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                found = connection.ops.get_db_converters(column) + column.get_db_converters(
                    connection
                )
                if found:
                    steps.append((i, tuple(found), column))
            plan = tuple(steps)
            self._plans[connection] = plan
        return plan

    def build(self, row: Sequence[Any], start: int = 0) -> M | None:
        """The instance in row[start:start + width]; None when a LEFT JOIN found no row."""
        values = list(row[start : start + self.width])
        if values[0] is None and all(v is None for v in values):
            return None
        connection = sql.connection()
        for i, converters, column in self._plan(connection):
            value = values[i]
            for convert in converters:
                value = convert(value, column, connection)
            values[i] = value
        return self.model.from_db(connection.alias, self.attnames, values)


@cache
def _insert_plan(model: type[Model]) -> tuple[str, tuple[Field[Any, Any], ...], dict[str, int]]:
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field)
    statement = sql.insert_sql(model, [f.name for f in fields], returning=meta.pk.name)
    return statement, fields, {f.name: i for i, f in enumerate(fields)}


class NewRow(Generic[M]):
    """A new instance's INSERT: its values prepared now, the statement run later (`insert`).

    Preparing a row costs more than writing it, so it is done before the write transaction
    begins, which then holds the database's write lock for less time. A foreign key to a row
    written in the same transaction, whose id is not known yet, is filled in by `link`. With
    save receivers registered for the model, `insert` is Model.save() itself.
    """

    def __init__(self, instance: M) -> None:
        self.instance = instance
        self.orm = has_receivers(type(instance), *SAVE_SIGNALS)
        self.statement, fields, self.positions = _insert_plan(type(instance))
        self.fields = fields
        connection = sql.connection()
        self.values = (
            []
            if self.orm
            else [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
        )

    def link(self, field: str, target: Model) -> None:
        """Point a foreign key at a row saved since this one was prepared."""
        setattr(self.instance, field, target)
        if not self.orm:
            i = self.positions[field]
            self.values[i] = self.fields[i].get_db_prep_save(target.pk, sql.connection())

    def insert(self) -> M:
        """Write the row (RETURNING the id the database gives it)."""
        instance = self.instance
        if self.orm:
            instance.save()
            return instance
        row = sql.one(self.statement, self.values)
        assert row is not None  # noqa: S101 - INSERT ... RETURNING gives the row back
        instance.pk = row[0]
        instance._state.adding = False
        instance._state.db = sql.connection().alias
        return instance


def has_receivers(model: type[Model], *kinds: signals.ModelSignal) -> bool:
    """Whether saving or deleting through the ORM would call someone's receiver."""
    return any(kind.has_listeners(model) for kind in kinds)


SAVE_SIGNALS = (signals.pre_save, signals.post_save)
DELETE_SIGNALS = (signals.pre_delete, signals.post_delete)
