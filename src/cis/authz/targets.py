"""What the policy acts on: each type of target, and the facts about it that scope decides by.

A target type is one class here, registered with `@kind_of_target(SomeType)`: who the target is
about (separation of duties, the closed-profile check), whether it is the actor's own, where it
sits (its organisations and the RAs whose area reaches it), and whether a grant's scope covers
it. `cis.authz.policy` asks `target_kind(target)` and never switches on the target's type itself.
A type with no class here has no subject and no place, so only a national grant reaches it.

It also holds the targets that do not exist yet: what an actor proposes to create (a new
assignment, a new grant) and the step of a card action, described for the policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people.models import Person
from cis.pki.models import Certificate
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right, RightGrant
from cis.workflow.models import Request

from .actions import Action
from .scope import GrantScope, descendants, person_org_ids, person_workplaces


@dataclass(frozen=True)
class NewAssignment:
    person: Person
    position: Position


@dataclass(frozen=True)
class NewGrant:
    person: Person
    right: Right
    organisation: Organisation | None = None
    include_children: bool = False
    ra: RegistrationAuthority | None = None


@dataclass(frozen=True)
class CardStep:
    """Something done as one step of a card action on a holder's card (a certificate issued or
    retired, a task handed to the agent): the policy allows it exactly when it allows `action`,
    the card action itself, on `person`, the card's holder."""

    action: Action
    person: Person


@dataclass
class Place:
    """Where a target sits: its organisations, and the RAs whose whole area reaches it.

    A person's organisations are read (once, with the RA serving each) only when the RAs alone
    do not settle a decision.
    """

    ras: set[int]
    fixed_orgs: set[int] = field(default_factory=set)
    person: Person | None = None

    @cached_property
    def serving_ra(self) -> dict[int, int | None] | None:
        if self.person is None:
            return None
        return {org: w.serving_ra_id for org, w in person_workplaces(self.person).items()}

    @cached_property
    def orgs(self) -> set[int]:
        return set(self.serving_ra) if self.serving_ra is not None else self.fixed_orgs

    def within(self, scope: GrantScope) -> bool:
        """Whether a scope takes in this place: one of its RAs, or one of its organisations."""
        return not self.ras.isdisjoint(scope.ra_ids) or scope.reaches(self.orgs, self.serving_ra)


T = TypeVar("T")


class TargetKind(Generic[T]):
    """The policy's view of one type of target; each method's default is "nothing to say"."""

    def subject(self, target: T) -> Person | None:
        """The person an action on the target is about (None: about nobody in particular)."""
        return None

    def is_own(self, actor: Person, target: T) -> bool:
        """Whether the target is the actor's own (self-service), when it has no subject."""
        return False

    def place(self, target: T) -> Place:
        raise TypeError(f"no scope rule for {type(target).__name__}")

    def covered(self, scope: GrantScope, target: T, place: Callable[[], Place]) -> bool:
        """Whether a (non-national) grant's scope reaches the target; `place()` is its Place."""
        return place().within(scope)

    def sponsor_assignable(self, target: T) -> bool:
        """Whether a Sponsor may act on it (an assignment to a position open to Sponsors)."""
        return False


_KINDS: dict[type[Any], TargetKind[Any]] = {}
_NO_KIND: TargetKind[Any] = TargetKind()

K = TypeVar("K", bound=TargetKind[Any])


def kind_of_target(*types: type[Any]) -> Callable[[type[K]], type[K]]:
    """Register a TargetKind class as the policy's view of these target types."""

    def register(cls: type[K]) -> type[K]:
        for target_type in types:
            _KINDS[target_type] = cls()
        return cls

    return register


def target_kind(target: object) -> TargetKind[Any]:
    """The registered kind of a target (its class's, or the nearest base class's).

    `__class__`, not `type()`, as `isinstance` does: a request's lazily loaded user (Django's
    SimpleLazyObject) reports the class of what it wraps.
    """
    for cls in target.__class__.__mro__:
        found = _KINDS.get(cls)
        if found is not None:
            return found
    return _NO_KIND


@kind_of_target(Person)
class PersonKind(TargetKind[Person]):
    def subject(self, target: Person) -> Person | None:
        return target

    def place(self, target: Person) -> Place:
        return Place({target.registered_ra_id} if target.registered_ra_id else set(), person=target)


@kind_of_target(Organisation)
class OrganisationKind(TargetKind[Organisation]):
    def is_own(self, actor: Person, target: Organisation) -> bool:
        return target.id in person_org_ids(actor)

    def place(self, target: Organisation) -> Place:
        return Place(set(), {target.id})


@kind_of_target(RegistrationAuthority)
class RegistrationAuthorityKind(TargetKind[RegistrationAuthority]):
    def place(self, target: RegistrationAuthority) -> Place:
        return Place({target.id})

    def covered(
        self, scope: GrantScope, target: RegistrationAuthority, place: Callable[[], Place]
    ) -> bool:
        """An RA is in reach of a grant over it, or over any organisation it serves."""
        return target.id in scope.ra_ids or bool(
            Organisation.objects.filter(id__in=scope.org_ids, serving_ra=target).exists()
        )


@kind_of_target(Position)
class PositionKind(TargetKind[Position]):
    def is_own(self, actor: Person, target: Position) -> bool:
        return (
            target.organisation_id in person_org_ids(actor)
            and target.assignments.filter(person=actor).exists()
        )

    def place(self, target: Position) -> Place:
        return Place(set(), {target.organisation_id})


@kind_of_target(PositionAssignment, NewAssignment)
class AssignmentKind(TargetKind[PositionAssignment | NewAssignment]):
    def subject(self, target: PositionAssignment | NewAssignment) -> Person | None:
        return target.person

    def place(self, target: PositionAssignment | NewAssignment) -> Place:
        return Place(set(), {target.position.organisation_id})

    def sponsor_assignable(self, target: PositionAssignment | NewAssignment) -> bool:
        return target.position.assignable


@kind_of_target(Request)
class RequestKind(TargetKind[Request]):
    def subject(self, target: Request) -> Person | None:
        return target.subject

    def place(self, target: Request) -> Place:
        return Place({target.ra_id}, {target.organisation_id} if target.organisation_id else set())


@kind_of_target(Certificate)
class CertificateKind(TargetKind[Certificate]):
    def subject(self, target: Certificate) -> Person | None:
        return target.person

    def place(self, target: Certificate) -> Place:
        return PersonKind().place(target.person)


@kind_of_target(RightGrant, NewGrant)
class GrantKind(TargetKind[RightGrant | NewGrant]):
    def subject(self, target: RightGrant | NewGrant) -> Person | None:
        return target.person

    def place(self, target: RightGrant | NewGrant) -> Place:
        return PersonKind().place(target.person)  # a grant's reach starts with its grantee's

    def covered(
        self, scope: GrantScope, target: RightGrant | NewGrant, place: Callable[[], Place]
    ) -> bool:
        """A grant is within reach when its grantee and its whole scope are in the actor's."""
        if not place().within(scope):
            return False
        if target.ra is not None:
            return target.ra.id in scope.ra_ids
        if target.organisation is not None:
            reach = (
                descendants([target.organisation.id])
                if target.include_children
                else {target.organisation.id}
            )
            return reach <= scope.org_ids
        return False  # a national grant is only within a national scope
