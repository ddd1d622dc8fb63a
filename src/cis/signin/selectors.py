"""Reads about sign-in sessions, under the policy: one's own, or those of people in scope."""

from __future__ import annotations

from django.db.models import QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core.errors import NotFound
from cis.people.models import Person

from .models import SignInSession, WebAuthnCredential


def person_for_sessions(*, actor: Actor, user_id: str) -> Person:
    """The person whose sessions the actor asks about; absent and out of reach read the same."""
    person = Person.objects.filter(user_id=user_id).first()
    if person is None:
        raise NotFound("No such person, or not one you can see.")
    try:
        require(actor, Action.SESSION_VIEW, person)
    except Exception:  # noqa: BLE001 - any refusal reads the same as absence
        raise NotFound("No such person, or not one you can see.") from None
    return person


def live_sessions(*, actor: Actor, person: Person) -> QuerySet[SignInSession]:
    require(actor, Action.SESSION_VIEW, person)
    return (
        SignInSession.objects.filter(person=person, ended_at__isnull=True)
        .select_related("selected_assignment__position__organisation", "authenticator")
        .order_by("-auth_time")
    )


def authenticators_of(*, actor: Actor, person: Person) -> QuerySet[WebAuthnCredential]:
    """A person's security keys still in use: for the holder, or an RA Agent who may remove them."""
    require(actor, Action.AUTHENTICATOR_REVOKE, person)
    return WebAuthnCredential.objects.filter(person=person, revoked_at__isnull=True)
