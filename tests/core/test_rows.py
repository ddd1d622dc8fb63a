"""cis.core.rows: plain-SQL rows become the same instances the ORM would make, and back."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import signals

from cis.core import rows, sql
from cis.people.models import Person
from cis.rbac.models import PositionAssignment
from tests.factories.directory import AssignmentFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _read(model: type[Any], pk: int) -> Any:
    reader = rows.Reader(model, "t")
    row = sql.one(f'SELECT {reader.select} FROM {sql.table(model)} t WHERE t."id" = %s', [pk])  # noqa: S608
    assert row is not None
    return reader.build(row)


def test_a_row_read_in_plain_sql_is_the_orms_instance() -> None:
    person = PersonFactory(email="grace@example.nhs.uk")
    built = _read(Person, person.pk)
    orm = Person.objects.get(pk=person.pk)
    for field in Person._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(orm, field.attname), field.name
    assert built.created_at.tzinfo is not None  # converted as the ORM converts
    assert not built._state.adding
    assert built._state.db == orm._state.db
    # It saves as an existing row (an UPDATE), and reads its relations lazily, like the ORM's.
    built.given_name = "Gracie"
    built.save(update_fields=["given_name"])
    assert Person.objects.filter(given_name="Gracie").count() == 1
    assignment = AssignmentFactory(person=person)
    linked = _read(PositionAssignment, assignment.pk)
    assert linked.person == person
    assert linked.position.organisation_id == assignment.position.organisation_id


def test_a_model_with_init_receivers_is_built_through_the_orm() -> None:
    person = PersonFactory()
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    signals.post_init.connect(receiver, sender=Person)
    try:
        built = _read(Person, person.pk)
    finally:
        signals.post_init.disconnect(receiver, sender=Person)
    assert seen == [built]


def test_a_new_row_is_the_row_the_orm_would_write() -> None:
    template = PersonFactory()
    fresh = Person(
        user_id="555000000999",
        given_name="Nadia",
        family_name="Newcomer",
        date_of_birth=template.date_of_birth,
        registered_ra=template.registered_ra,
    )
    rows.insert(fresh)
    assert fresh.pk is not None and not fresh._state.adding
    stored = Person.objects.get(pk=fresh.pk)
    assert stored.created_at is not None  # auto_now_add ran, as in Model.save()
    for name in ("user_id", "given_name", "family_name", "date_of_birth", "registered_ra_id"):
        assert getattr(stored, name) == getattr(fresh, name)
