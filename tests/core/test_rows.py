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


# What is written in one plain INSERT (cis.core.rows.insert and NewRow) on the hot paths.
PLAIN_WRITES = (
    "oauth2_provider.AccessToken",
    "oauth2_provider.RefreshToken",
    "oauth2_provider.IDToken",
    "oidc.TokenLink",
    "pki.Certificate",
    "signin.SignInSession",
    "signin.SignInTicket",
    "signin.LoginChallenge",
)


@pytest.mark.parametrize("label", PLAIN_WRITES)
def test_a_model_written_in_plain_sql_has_no_save_of_its_own_nor_save_receivers(
    label: str,
) -> None:
    """Both would be skipped by a plain INSERT: NewRow falls back to the ORM for either, and
    this test says so the day one appears, so that the fast path is not lost unnoticed."""
    from django.apps import apps

    model = apps.get_model(label)
    assert not rows.overrides_save(model), f"{label} defines save()"
    assert not rows.has_receivers(model, *rows.SAVE_SIGNALS), f"{label} has save receivers"


def test_a_model_with_a_save_of_its_own_is_saved_through_the_orm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cis.pki.models import Certificate

    saved: list[Any] = []

    def save(self: Any, *args: Any, **kwargs: Any) -> None:
        saved.append(self)

    monkeypatch.setattr(Certificate, "save", save, raising=False)
    certificate = Certificate()
    row = rows.NewRow(certificate)
    assert row.orm
    row.insert()
    assert saved == [certificate]
