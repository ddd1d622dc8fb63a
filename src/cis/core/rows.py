"""Model rows read and written in plain SQL on the hottest paths, exactly as the ORM would.

Sign-in, token grants and issuance run thousands of times a second, and through the ORM most of
their time went in composing and compiling statements (see cis.core.sql). Here a read selects
every concrete column of a model and turns the row back into an instance with the converters the
ORM applies (so a datetime is aware, a UUID a UUID, JSON parsed, a boolean a bool), and a write
prepares every field as the field itself does (pre_save, get_db_prep_save), as Model.save() does,
so the row is the ORM's row and the rest of CIS, the admin and django-oauth-toolkit read it back
unchanged. A model with save receivers registered, or with a save() of its own, is saved through
the ORM instead, so that they still run.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Generic, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    CharField,
    DateTimeField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    signals,
)
from django.db.models.base import ModelState

from cis.core import sql

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]
Prepare = Callable[[Any, BaseDatabaseWrapper], Any]
_INTEGERS = (AutoField, BigAutoField, IntegerField, BigIntegerField)


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
        model = self.model
        if model.from_db.__func__ is not Model.from_db.__func__ or _has_init_receivers(model):  # type: ignore[attr-defined]
            return model.from_db(connection.alias, self.attnames, values)
        # What Model.from_db() and Model.__init__ do with a full row, without the per-field
        # work __init__ does for keyword arguments and defaults: the attributes, and the state.
        instance = model.__new__(model)
        instance.__dict__.update(zip(self.attnames, values, strict=True))
        state = ModelState()
        state.adding = False
        state.db = connection.alias
        instance._state = state
        return instance


def _preparer(field: Field[Any, Any]) -> Prepare:
    """get_db_prep_save for this field, with the field's own no-op cases taken directly."""
    kind = type(field)
    slow = field.get_db_prep_save
    if kind in (CharField, TextField):
        return lambda v, c: v if v is None or isinstance(v, str) else slow(v, c)
    if kind in _INTEGERS or (
        kind is ForeignKey and type(field.target_field) in _INTEGERS  # type: ignore[attr-defined]
    ):
        return lambda v, c: v if v is None or type(v) is int else slow(v, c)
    if kind is DateTimeField:
        return lambda v, c: (
            None
            if v is None
            else c.ops.adapt_datetimefield_value(v)
            if isinstance(v, dt.datetime) and v.tzinfo is not None
            else slow(v, c)
        )
    return slow


def _reader(field: Field[Any, Any]) -> Callable[[Model], Any]:
    """pre_save(instance, add=True): the attribute, unless the field computes it (auto_now)."""
    if type(field).pre_save is Field.pre_save:
        attname = field.attname
        return lambda instance: getattr(instance, attname)
    return lambda instance: field.pre_save(instance, True)


@cache
def _insert_plan(
    model: type[Model], with_pk: bool
) -> tuple[str, tuple[Field[Any, Any], ...], tuple[tuple[Callable[..., Any], Prepare], ...]]:
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field)
    returning = "" if with_pk else meta.pk.name
    statement = sql.insert_sql(model, [f.name for f in fields], returning=returning)
    return statement, fields, tuple((_reader(f), _preparer(f)) for f in fields)


class NewRow(Generic[M]):
    """A new instance's INSERT: its values prepared now, the statement run later (`insert`).

    Preparing a row costs more than writing it, so a caller can do it before its write
    transaction begins, which then holds the database's write lock for less time. A foreign key
    to a row written in the same transaction, whose id is not known yet, is filled in by `link`.
    With save receivers registered for the model, or a save() of its own, `insert` is
    Model.save() itself, so that nothing save() would do is skipped.
    """

    def __init__(self, instance: M) -> None:
        self.instance = instance
        model = type(instance)
        self.orm = has_receivers(model, *SAVE_SIGNALS) or overrides_save(model)
        meta = instance._meta
        self.with_pk = meta.auto_field is None or instance.pk is not None
        self.statement, self.fields, plan = _insert_plan(model, self.with_pk)
        connection = sql.connection()
        self.values = (
            [] if self.orm else [prepare(read(instance), connection) for read, prepare in plan]
        )

    def link(self, field: str, target: Model) -> None:
        """Point a foreign key at a row saved since this one was prepared."""
        setattr(self.instance, field, target)
        if not self.orm:
            for i, candidate in enumerate(self.fields):
                if candidate.name == field:
                    self.values[i] = candidate.get_db_prep_save(target.pk, sql.connection())

    def insert(self) -> M:
        """Write the row (RETURNING the id, when the database gives it)."""
        instance = self.instance
        if self.orm:
            instance.save(force_insert=True)
            return instance
        if self.with_pk:
            sql.execute(self.statement, self.values)
        else:
            row = sql.one(self.statement, self.values)
            assert row is not None  # noqa: S101 - INSERT ... RETURNING gives the row back
            instance.pk = row[0]
        instance._state.adding = False
        instance._state.db = sql.connection().alias
        return instance


def insert(instance: M) -> M:
    """Save a new instance in one plain INSERT, as Model.save() would."""
    return NewRow(instance).insert()


def _has_init_receivers(model: type[Model]) -> bool:
    return has_receivers(model, signals.pre_init, signals.post_init)


def has_receivers(model: type[Model], *kinds: signals.ModelSignal) -> bool:
    """Whether saving or deleting through the ORM would call someone's receiver."""
    # A signal nobody listens to at all (CIS connects none of these) answers without a lookup.
    return any(kind.receivers and kind.has_listeners(model) for kind in kinds)


def overrides_save(model: type[Model]) -> bool:
    """Whether the model (or a base of it below Model) defines a save() of its own."""
    return any("save" in vars(cls) for cls in model.__mro__ if cls is not Model)


SAVE_SIGNALS = (signals.pre_save, signals.post_save)
DELETE_SIGNALS = (signals.pre_delete, signals.post_delete)
