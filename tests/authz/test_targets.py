"""The policy sees every type of target through one class per type (cis.authz.targets)."""

from __future__ import annotations

import pytest
from django.utils.functional import SimpleLazyObject

from cis.authz import targets
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people.models import Person
from cis.pki.models import Certificate
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import RightGrant
from cis.workflow.models import Request

KINDS = {
    Person: targets.PersonKind,
    Organisation: targets.OrganisationKind,
    RegistrationAuthority: targets.RegistrationAuthorityKind,
    Position: targets.PositionKind,
    PositionAssignment: targets.AssignmentKind,
    targets.NewAssignment: targets.AssignmentKind,
    Request: targets.RequestKind,
    Certificate: targets.CertificateKind,
    RightGrant: targets.GrantKind,
    targets.NewGrant: targets.GrantKind,
}


@pytest.mark.parametrize(("target_type", "kind"), KINDS.items(), ids=lambda v: v.__name__)
def test_each_target_type_has_its_one_kind(target_type: type, kind: type) -> None:
    assert type(targets.target_kind(target_type.__new__(target_type))) is kind


def test_a_lazily_loaded_person_is_seen_as_a_person() -> None:
    person = Person(user_id="500000000001")
    assert isinstance(targets.target_kind(SimpleLazyObject(lambda: person)), targets.PersonKind)


def test_a_type_without_a_kind_is_about_nobody_and_has_no_place() -> None:
    kind = targets.target_kind(object())
    assert kind.subject(object()) is None
    assert kind.is_own(Person(), object()) is False
    assert kind.sponsor_assignable(object()) is False
    with pytest.raises(TypeError, match="no scope rule for object"):
        kind.place(object())
    assert targets.target_kind(None).subject(None) is None
