"""The demo's persona sign-in: who can use it, and the people it offers."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from cis.authz.actions import Action
from cis.authz.policy import CONSOLE
from cis.authz.scoping import visible
from cis.people.models import Person, PersonStatus
from cis.rights.models import Right, RightGrant
from cis.rights.selectors import grant_list

PRODUCTION_SETTINGS = "cis.config.settings.production"
PLAIN_HOLDERS_SHOWN = 12


def persona_sign_in_available() -> bool:
    """Only with CIS_DEMO_LOGIN on, and never under the production settings, whatever they say."""
    if getattr(settings, "SETTINGS_MODULE", "") == PRODUCTION_SETTINGS:
        return False
    return bool(getattr(settings, "CIS_DEMO_LOGIN", False))


@dataclass
class PersonaGroup:
    right: Right
    grants: list[RightGrant] = field(default_factory=list)


def personas() -> tuple[list[PersonaGroup], list[Person]]:
    """People with rights, grouped by right, and some plain card holders.

    The persona page is shown before anyone signs in, so it reads as the server console would.
    """
    grants = grant_list(actor=CONSOLE, current_only=True).filter(person__status=PersonStatus.ACTIVE)
    groups = {right: PersonaGroup(right) for right in Right}
    for grant in grants.order_by("person__family_name", "person__given_name", "id"):
        groups[Right(grant.right)].grants.append(grant)
    holders = visible(
        CONSOLE,
        Action.PERSON_VIEW,
        Person.objects.exclude(status=PersonStatus.CLOSED).exclude(
            pk__in=grants.values("person_id")
        ),
    ).order_by("family_name", "given_name")[:PLAIN_HOLDERS_SHOWN]
    return [g for g in groups.values() if g.grants], list(holders)
