"""New sign-in rows written as one plain INSERT each, exactly as Model.save() would write them.

A smartcard sign-in writes a challenge, a session and a ticket; through the ORM each INSERT cost
about ten times more to compose and compile than to run (see cis.core.sql). Here every concrete
field's value is prepared as the field itself prepares it (pre_save, get_db_prep_save), so the
row is the ORM's row and the portal, admin and session middleware read it back unchanged. For
the common cases (text, integers and ids, aware datetimes) that preparation returns the value
unchanged or is the backend's datetime adapter, so it is done directly; anything else goes
through the field. None of these models has a save() override; should one ever have pre_save
or post_save receivers, it is saved by the ORM instead, so that they still run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

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

from cis.core import sql

Prepare = Callable[[Any, BaseDatabaseWrapper], Any]
_INTEGERS = (AutoField, BigAutoField, IntegerField, BigIntegerField)


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
def _plan(
    model: type[Model], with_pk: bool
) -> tuple[str, list[tuple[Callable[..., Any], Prepare]]]:
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field]
    returning = "" if with_pk else meta.pk.name
    statement = sql.insert_sql(model, [f.name for f in fields], returning=returning)
    return statement, [(_reader(f), _preparer(f)) for f in fields]


def insert(instance: Model) -> Model:
    """Save a new instance in one INSERT (RETURNING its id when the database assigns it)."""
    meta = instance._meta
    model = type(instance)
    if signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model):
        instance.save(force_insert=True)
        return instance
    with_pk = meta.auto_field is None or instance.pk is not None
    statement, plan = _plan(model, with_pk)
    connection = sql.connection()
    values = [prepare(read(instance), connection) for read, prepare in plan]
    if with_pk:
        sql.execute(statement, values)
    else:
        row = sql.one(statement, values)
        assert row is not None  # noqa: S101 - INSERT ... RETURNING gives the row back
        instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance
