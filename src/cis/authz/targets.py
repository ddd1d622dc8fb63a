"""Targets that do not exist yet: what an actor proposes to create, described for the policy."""

from __future__ import annotations

from dataclasses import dataclass

from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people.models import Person
from cis.rbac.models import Position
from cis.rights.models import Right

from .actions import Action


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
