"""Reads about requests: the RA's queue, one's own requests, escalations, one request's story."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, decide, require
from cis.authz.scoping import visible
from cis.core import clock
from cis.core.errors import NotFound
from cis.people.models import Person

from . import schemas
from .models import Escalation, Request, RequestEvent
from .states import CLOSED, OPEN, EscalationLevel, RequestState, RequestType

CLOSED_WINDOW_DAYS = 30
VIEWS = ("open", "closed", "mine", "about-me", "escalated", "awaiting-card")
AGES = {"1": 1, "3": 3, "7": 7, "30": 30}


@dataclass(frozen=True)
class QueueFilter:
    view: str = "open"
    ods_code: str = ""
    request_type: str = ""
    older_than_days: int | None = None


def _base(actor: Actor) -> QuerySet[Request]:
    return visible(actor, Action.REQUEST_VIEW, Request.objects.all()).select_related(
        "subject", "organisation", "ra", "raised_by", "decided_by", "assigned_to"
    )


def request_queue(*, actor: Actor, filters: QueueFilter | None = None) -> QuerySet[Request]:
    """The RA's queue and its views: open, closed in the last 30 days, mine, escalated."""
    f = filters or QueueFilter()
    rows = _base(actor)
    now = clock.now()
    if f.view == "open":
        rows = rows.filter(state__in=list(OPEN)).order_by("due_at", "id")
    elif f.view == "closed":
        since = now - dt.timedelta(days=CLOSED_WINDOW_DAYS)
        rows = rows.filter(state__in=list(CLOSED), closed_at__gte=since).order_by("-closed_at")
    elif f.view == "mine":
        rows = rows.filter(raised_by=_as_person(actor)).order_by("-raised_at", "-id")
    elif f.view == "about-me":
        rows = rows.filter(subject=_as_person(actor)).order_by("-raised_at", "-id")
    elif f.view == "escalated":
        rows = rows.filter(state=RequestState.ESCALATED).order_by("due_at", "id")
    elif f.view == "awaiting-card":
        rows = rows.filter(state=RequestState.APPROVED).order_by("decided_at", "id")
    if f.ods_code:
        rows = rows.filter(organisation__ods_code=f.ods_code.strip().upper())
    if f.request_type in RequestType.values:
        rows = rows.filter(request_type=f.request_type)
    if f.older_than_days:
        rows = rows.filter(raised_at__lte=now - dt.timedelta(days=f.older_than_days))
    return rows


def _as_person(actor: Actor) -> Person | None:
    return actor if isinstance(actor, Person) else None


def request_get(*, actor: Actor, pk: int) -> Request:
    """One request, if the actor may see it; otherwise 'not found', so nothing leaks."""
    found = _base(actor).filter(pk=pk).first()
    if found is None or not decide(actor, Action.REQUEST_VIEW, found).allowed:
        raise NotFound("No such request, or not one you can see.")
    return found


def reassign_candidates(*, actor: Actor, request: Request) -> list[Person]:
    """The RA Agents (and above) who could decide this request, for the actor to hand it to."""
    from cis.rights.models import Right, RightGrant  # noqa: PLC0415 - a read kept local

    require(actor, Action.REQUEST_REASSIGN, request)
    today = clock.today()
    grants = RightGrant.objects.filter(
        right__in=[Right.RA_AGENT, Right.RA_AGENT_ADVANCED, Right.RA_MANAGER],
        revoked_at__isnull=True,
        start_date__lte=today,
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    people = Person.objects.filter(pk__in=grants.values("person_id"), status="active").order_by(
        "family_name", "given_name"
    )
    return [
        p for p in people[:200] if p != actor and decide(p, Action.REQUEST_APPROVE, request).allowed
    ]


def request_history(*, request: Request) -> QuerySet[RequestEvent]:
    """The full history of a request the caller has already been allowed to see."""
    return request.history.select_related("actor").order_by("at", "id")


def request_escalations(*, request: Request) -> QuerySet[Escalation]:
    return request.escalations.select_related("raised_by").order_by("raised_at", "id")


def escalations_for(*, actor: Actor) -> QuerySet[Request]:
    """Escalated requests waiting at the level this actor answers for."""
    rows = _base(actor).filter(state=RequestState.ESCALATED)
    if isinstance(actor, Person):
        from cis.authz.scope import effective_grants  # noqa: PLC0415

        rights = {g.right for g in effective_grants(actor)}
        if "service_desk" in rights and "ra_manager" not in rights:
            rows = rows.filter(escalation_level=EscalationLevel.SERVICE_DESK)
    return rows.order_by("due_at", "id")


def my_escalations(*, actor: Person) -> QuerySet[Escalation]:
    """Escalations this person raised by hand, open or closed, to follow them to their close."""
    return (
        Escalation.objects.filter(raised_by=actor)
        .filter(Q(request__in=_base(actor)))
        .select_related("request", "request__subject")
        .order_by("-raised_at")
    )


def register_duplicates(*, actor: Actor, request: Request) -> list[Person]:
    """The people a registration may duplicate, for the approver to look at before creating one."""
    from cis.people.services import probable_duplicates  # noqa: PLC0415 - a read kept there

    require(actor, Action.REQUEST_APPROVE, request)
    if request.request_type != RequestType.PERSON_REGISTER or not request.is_open:
        return []
    payload = schemas.load(request, schemas.PersonRegister)
    return probable_duplicates(
        given_name=payload.given_name,
        family_name=payload.family_name,
        date_of_birth=payload.date_of_birth,
    )
