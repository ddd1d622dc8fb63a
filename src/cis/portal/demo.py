"""The demo's persona sign-in: who can use it, and the people it offers."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from cis.authz.actions import Action
from cis.authz.policy import CONSOLE
from cis.authz.scoping import visible
from cis.demo import cast
from cis.people.models import Person, PersonStatus
from cis.rights.models import Right, RightGrant
from cis.rights.selectors import grant_list

PRODUCTION_SETTINGS = "cis.config.settings.production"
PLAIN_HOLDERS_SHOWN = 12


def persona_sign_in_available() -> bool:
    """Only with CIS_DEMO_LOGIN on, and never under the production settings, whatever they say."""
    if getattr(settings, "SETTINGS_MODULE", "") == PRODUCTION_SETTINGS:
        return False
    return bool(settings.CIS_DEMO_LOGIN)


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
    plain = visible(
        CONSOLE,
        Action.PERSON_VIEW,
        Person.objects.exclude(status=PersonStatus.CLOSED).exclude(
            pk__in=grants.values("person_id")
        ),
    )
    # The demo's named card holders first (the README's and `cis demo`'s journeys use them),
    # in the order the cast gives them, then others up to the limit.
    named = [s.user_id for p in cast.PERSONAS if p.right is None for s in cast.STAFF
             if s.number == p.staff_number]  # fmt: skip
    found = {p.user_id: p for p in plain.filter(user_id__in=named)}
    holders = [found[u] for u in named if u in found]
    others = plain.exclude(user_id__in=named).order_by("family_name", "given_name")
    holders += list(others[: max(0, PLAIN_HOLDERS_SHOWN - len(holders))])
    return [g for g in groups.values() if g.grants], holders
