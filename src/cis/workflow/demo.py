"""Requests for the demo world: some open, some escalated, some closed, made through the services.

`build_demo_requests()` runs after the demo world is built. It raises each request as the demo's
Sponsor and decides it as its RA Agent, at times in the past (the clock is moved back and
forward again), so the queue shows ages, due times, escalations and history as a real one would.
It does nothing if there are requests already. The story goes back at most to the day
the Sponsor's and Agent's rights began; with rights granted today, everything happens today and
only the escalation by hand shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import Q

from cis.authz.scope import active_assignments
from cis.core import clock
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment
from cis.rights.models import Right, RightGrant

from . import schedule, services
from .models import Request
from .states import RequestType


@contextmanager
def _days_ago(days: float) -> Iterator[None]:
    delta = dt.timedelta(days=days)
    clock.travel(-delta)
    try:
        yield
    finally:
        clock.travel(delta)


def _holder_of(right: Right) -> Person | None:
    today = clock.today()
    grant = (
        RightGrant.objects.filter(right=right, revoked_at__isnull=True, start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("person")
        .order_by("id")
        .first()
    )
    return grant.person if grant is not None else None


def _staff_under(sponsor: Person, *, exclude: set[int]) -> list[Person]:
    """Active holders without CIS rights, working where the Sponsor's right reaches."""
    grant = RightGrant.objects.filter(person=sponsor, right=Right.SPONSOR).first()
    if grant is None or grant.organisation_id is None:
        return []
    orgs = {grant.organisation_id}
    if grant.include_children:
        from cis.authz.scope import descendants  # noqa: PLC0415

        orgs = descendants(orgs)
    people = (
        Person.objects.filter(
            status=PersonStatus.ACTIVE,
            pk__in=PositionAssignment.objects.filter(
                active_assignments(), position__organisation_id__in=orgs
            ).values("person_id"),
        )
        .exclude(pk__in=RightGrant.objects.values("person_id"))
        .exclude(pk__in=exclude)
        .order_by("user_id")
    )
    return list(people)


def build_demo_requests() -> int:
    """Add the demo's requests if they are not there yet; returns how many were added."""
    if Request.objects.exists():
        return 0
    sponsor = _holder_of(Right.SPONSOR)
    agent = _holder_of(Right.RA_AGENT)
    if sponsor is None or agent is None:
        return 0
    staff = _staff_under(sponsor, exclude={sponsor.pk, agent.pk})
    if len(staff) < 6:
        return 0
    first_org = (
        PositionAssignment.objects.filter(active_assignments(), person=staff[0])
        .select_related("position__organisation")
        .first()
    )
    ods = first_org.position.organisation.ods_code if first_org else ""

    def raise_(kind: str, payload: dict[str, Any], note: str) -> Request:
        return services.request_raise(actor=sponsor, request_type=kind, payload=payload, note=note)

    steps: list[tuple[float, Callable[[], Any]]] = []
    made: dict[str, Request] = {}

    def later(days: float, name: str, make: Callable[[], Request]) -> None:
        steps.append((days, lambda: made.__setitem__(name, make())))

    # Closed in the last month: applied, rejected, cancelled.
    later(
        20,
        "applied",
        lambda: raise_(
            RequestType.DETAILS_CHANGE,
            {
                "user_id": staff[1].user_id,
                "professional_body": "GPhC",
                "professional_number": "2098765",
            },
            "GPhC number was mistyped at registration.",
        ),
    )
    steps.append(
        (
            19,
            lambda: services.request_approve(
                actor=agent, request=made["applied"], note="Checked on the GPhC register."
            ),
        )
    )
    later(
        15,
        "rejected",
        lambda: raise_(
            RequestType.PROFILE_CLOSE,
            {"user_id": staff[2].user_id, "reason": "Leaving at the end of the month"},
            "Leaving date confirmed by the branch manager.",
        ),
    )
    steps.append(
        (
            14,
            lambda: services.request_reject(
                actor=agent,
                request=made["rejected"],
                reason="They are still working until the 30th: raise it again on their last day.",
            ),
        )
    )
    later(
        12,
        "cancelled",
        lambda: raise_(
            RequestType.CARD_REPLACE,
            {"user_id": staff[3].user_id, "reason": "lost"},
            "Card left at home, thought lost.",
        ),
    )
    steps.append(
        (
            11.9,
            lambda: services.request_cancel(
                actor=sponsor, request=made["cancelled"], reason="The card turned up."
            ),
        )
    )
    # Escalated: one by the clock, one by the holder by hand.
    later(
        8,
        "overdue",
        lambda: raise_(
            RequestType.CARD_ISSUE,
            {"user_id": staff[4].user_id},
            "New pharmacist needs a first card.",
        ),
    )
    later(
        3,
        "chased",
        lambda: raise_(
            RequestType.CARD_REPLACE,
            {"user_id": staff[5].user_id, "reason": "damaged"},
            "Chip cracked; the card no longer reads.",
        ),
    )
    steps.append(
        (
            0.5,
            lambda: services.request_escalate(
                actor=staff[5],
                request=made["chased"],
                reason="My RA has not responded and I cannot sign in to dispense.",
            ),
        )
    )
    # Open and recent.
    later(
        0.2,
        "register",
        lambda: raise_(
            RequestType.PERSON_REGISTER,
            {
                "ods_code": ods,
                "given_name": "Priya",
                "family_name": "Shah",
                "date_of_birth": "1996-04-12",
                "email": "priya.shah@example.nhs.uk",
                "professional_body": "GPhC",
                "professional_number": "2091234",
            },
            "Pre-registration pharmacist starting on Monday.",
        ),
    )
    later(
        0.1,
        "card",
        lambda: raise_(
            RequestType.CARD_ISSUE,
            {"user_id": staff[0].user_id},
            "Second card for the dispensary workstation.",
        ),
    )

    # Nobody acts before their right began: squeeze the story into the time the rights have held.
    began = RightGrant.objects.filter(person__in=[sponsor, agent]).values_list(
        "start_date", flat=True
    )
    available = (clock.today() - max(began)).days
    squeeze = min(1.0, available / max(d for d, _ in steps))
    for days, step in sorted(steps, key=lambda s: -s[0]):
        with _days_ago(days * squeeze), transaction.atomic():
            step()
            if days > 1:
                schedule.escalate_overdue()
    schedule.escalate_overdue()
    return len(made)
