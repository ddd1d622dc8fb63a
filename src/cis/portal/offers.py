"""What the policy lets an actor offer on a person's page, where no single target says it."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse

from cis.authz.actions import Action
from cis.authz.policy import can, request_types_allowed
from cis.authz.scope import person_workplaces
from cis.authz.targets import NewAssignment, NewGrant
from cis.core import clock
from cis.people.models import Person, PersonStatus
from cis.rbac.models import Position, PositionAssignment, PositionStatus
from cis.rbac.selectors import position_list
from cis.rights.models import Right
from cis.smartcards.models import Smartcard
from cis.smartcards.selectors import current_certificate
from cis.smartcards.states import CardStatus
from cis.workflow.models import Request
from cis.workflow.states import RequestType


def offered_positions(actor: Person, person: Person) -> QuerySet[Position]:
    """The positions the policy lets this actor give this person (Sponsors: assignable ones)."""
    candidates = position_list(actor=actor).filter(status=PositionStatus.ACTIVE)
    allowed = [
        p.pk for p in candidates if can(actor, Action.ASSIGNMENT_CREATE, NewAssignment(person, p))
    ]
    return (
        position_list(actor=actor).filter(pk__in=allowed).order_by("organisation__ods_code", "name")
    )


def may_grant_some_right(
    actor: Person, person: Person, assignments: list[PositionAssignment]
) -> bool:
    """Whether the actor may grant this person anything: the lowest right where they work,
    across their RA's area, or the national service desk right."""
    candidates = [NewGrant(person, Right.SERVICE_DESK)]
    if person.registered_ra is not None:
        candidates.append(NewGrant(person, Right.LSA, ra=person.registered_ra))
    candidates.extend(
        NewGrant(person, Right.LSA, organisation=a.position.organisation) for a in assignments
    )
    return any(can(actor, Action.RIGHT_GRANT, target) for target in candidates)


# The requests a person's page may offer about them, in the order shown.
REQUEST_OFFERS = (
    (RequestType.CARD_ISSUE, "Request a card"),
    (RequestType.CARD_REPLACE, "Request a replacement card"),
    (RequestType.CARD_RENEW, "Request renewal of their expired certificate"),
    (RequestType.POSITION_ADD, "Request a role change (a new position)"),
    (RequestType.POSITION_END, "Request the end of a position"),
    (RequestType.DETAILS_CHANGE, "Request a change to their details"),
    (RequestType.PROFILE_CLOSE, "Request to close their profile"),
    (RequestType.PROFILE_REOPEN, "Request to reopen their profile"),
    (RequestType.RIGHT_GRANT, "Request a CIS right for them"),
)


def _fits(request_type: str, person: Person, cards: list[Smartcard]) -> bool:
    """Whether this type of request makes sense for this person now (the service checks again)."""
    active = person.status == PersonStatus.ACTIVE
    closed = person.status == PersonStatus.CLOSED
    if request_type == RequestType.PROFILE_REOPEN:
        return closed
    if request_type in (RequestType.DETAILS_CHANGE, RequestType.PROFILE_CLOSE):
        return not closed
    if not active:
        return False
    if request_type == RequestType.CARD_REPLACE:
        return bool(cards)
    if request_type == RequestType.CARD_RENEW:
        now = clock.now()
        return any(
            (link := current_certificate(card)) is not None
            and link.certificate.not_after <= now
            and card.live
            for card in cards
        )
    return True


def offered_requests(actor: Person, person: Person) -> list[tuple[str, str]]:
    """The requests this actor may raise about this person: (label, URL of the form), each
    decided by the policy for the organisations where the person works (or their RA)."""
    workplaces = person_workplaces(person)
    places = [
        Request(organisation_id=org_id, ra_id=w.serving_ra_id)
        for org_id, w in workplaces.items()
        if w.serving_ra_id is not None
    ]
    if not places and person.registered_ra_id is not None:
        places = [Request(ra_id=person.registered_ra_id)]
    allowed_types = set(request_types_allowed(actor, RequestType.values))
    cards = list(
        Smartcard.objects.filter(holder=person)
        .exclude(status=CardStatus.CLEARED)
        .prefetch_related("certificates__certificate")
    )
    offers = []
    for request_type, label in REQUEST_OFFERS:
        if request_type not in allowed_types or not _fits(request_type, person, cards):
            continue
        for probe in places:
            probe.request_type = request_type
            probe.subject = person
            if can(actor, Action.REQUEST_RAISE, probe):
                url = reverse("portal:request-raise", args=[request_type])
                offers.append((label, f"{url}?user_id={person.user_id}"))
                break
    return offers
