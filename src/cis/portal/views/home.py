"""Home pages: what needs doing today, for each of the rights the signed-in person holds.

Everyone sees their own card and requests. On top of that, one section per kind of work: local
administration (LSA, Sponsor), the RA's work (ID Checker, RA Agent and above), and oversight (RA
Manager, service desk). Someone with several rights sees each section once. Every list and
count comes from a scoped selector (the reports' selectors, the request queue), so a section
can only show what the policy lets this person see; every item is one link from what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from cis.authz.scope import effective_grants
from cis.core import clock
from cis.people.models import Person, PersonStatus
from cis.reports import selectors as reports
from cis.reports.tables import chart_table
from cis.rights.models import Right
from cis.rights.selectors import grant_list
from cis.workflow.selectors import QueueFilter, escalations_for, request_queue
from cis.workflow.states import OPEN

from ..formatting import duration, long_date, plural
from .base import PortalPage
from .cards import own_card_rows
from .reports import table_item

LOCAL_ADMIN = frozenset({Right.LSA, Right.SPONSOR})
RA_STAFF = frozenset({Right.ID_CHECKER, Right.RA_AGENT, Right.RA_AGENT_ADVANCED, Right.RA_MANAGER})
RA_DECIDERS = frozenset({Right.RA_AGENT, Right.RA_AGENT_ADVANCED, Right.RA_MANAGER})
OVERSIGHT = frozenset({Right.RA_MANAGER, Right.SERVICE_DESK})
SHOWN = 5  # people or requests listed in a section before "see all"
# The work an RA Manager and the service desk oversee, as the reports chart it (report, table):
# unlocks by holders against assisted ones with renewals, and open requests by age.
OVERSIGHT_CHARTS = (("card-activity", "activity"), ("requests-by-age", "bands"))


@dataclass(frozen=True)
class Todo:
    """One thing the person should do, and the one link that does it."""

    text: str
    url: str
    link_text: str


@dataclass
class Sections:
    local_admin: bool = False
    ra_staff: bool = False
    ra_decider: bool = False
    oversight: bool = False
    rights: set[str] = field(default_factory=set)


def sections_for(person: Person) -> Sections:
    rights = {g.right for g in effective_grants(person)}
    return Sections(
        local_admin=bool(rights & LOCAL_ADMIN),
        ra_staff=bool(rights & RA_STAFF),
        ra_decider=bool(rights & RA_DECIDERS),
        oversight=bool(rights & OVERSIGHT),
        rights=rights,
    )


def due_text(due_at: dt.datetime | None, now: dt.datetime) -> str:
    """'due in 2 days' or 'overdue by 3 hours', against the request's due time."""
    if due_at is None:
        return ""
    if due_at >= now:
        return f"due in {duration(due_at - now)}"
    return f"overdue by {duration(now - due_at)}"


def _holder_todos(person: Person, rows: list[Any]) -> list[Todo]:
    todos: list[Todo] = []
    if person.status == PersonStatus.RESTRICTED:
        todos.append(
            Todo(
                "Your identity has not been checked yet, so you cannot hold a position.",
                reverse("portal:help-contacts"),
                "Book an identity check with your Registration Authority",
            )
        )
    for row in rows:
        card = row.card
        if card.status == "locked" and row.can_self_unlock:
            todos.append(
                Todo(
                    "Your smartcard is locked.",
                    reverse("portal:card-self-unlock", args=[card.chip_serial]),
                    "Unlock your smartcard with a code",
                )
            )
        if row.renewal == "open":
            todos.append(
                Todo(
                    f"Your certificate expires on {long_date(row.expires)}.",
                    reverse("portal:my-smartcard"),
                    "Renew your certificate",
                )
            )
        elif row.renewal == "expired":
            todos.append(
                Todo(
                    f"Your certificate expired on {long_date(row.expires)}. Only your "
                    "Registration Authority can renew it now, with you there.",
                    reverse("portal:help-contacts"),
                    "Contact your Registration Authority",
                )
            )
    if person.status == PersonStatus.ACTIVE and not (
        (person.email and person.email_verified_at) or (person.mobile and person.mobile_verified_at)
    ):
        todos.append(
            Todo(
                "Without a verified email address or mobile number you cannot unlock your card "
                "yourself.",
                reverse("portal:change-email"),
                "Add and verify your email address",
            )
        )
    return todos


class HomeView(PortalPage):
    template_name = "portal/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        me = self.actor
        now = clock.now()
        sections = sections_for(me)
        rows = [row for row in own_card_rows(me) if row.card.live]
        my_requests = list(
            request_queue(actor=me, filters=QueueFilter(view="about-me")).filter(
                state__in=sorted(OPEN)
            )[:SHOWN]
        )
        context.update(
            heading="Home",
            sections=sections,
            grants=grant_list(actor=me, person=me),
            card_rows=rows,
            todos=_holder_todos(me, rows),
            my_requests=[(r, due_text(r.due_at, now)) for r in my_requests],
            may_view_reports=reports.may_view_reports(actor=me),
        )
        if sections.local_admin:
            context.update(self._local_admin(me, now))
        if sections.ra_staff:
            context.update(self._ra_staff(me, now, sections))
        if sections.oversight:
            context.update(self._oversight(me))
        return context

    def _local_admin(self, me: Person, now: dt.datetime) -> dict[str, Any]:
        locked = reports.locked_cards(actor=me)
        expiring = reports.certificates_expiring(actor=me, within_days=30)
        raised = request_queue(actor=me, filters=QueueFilter(view="mine"))
        return {
            "locked_count": locked.count(),
            "locked_cards": list(locked[:SHOWN]),
            "expiring_counts": reports.certificates_expiring_counts(actor=me),
            "expiring": list(expiring[:SHOWN]),
            "raised_requests": [(r, due_text(r.due_at, now)) for r in raised[:SHOWN]],
            "raised_open_count": raised.filter(state__in=sorted(OPEN)).count(),
            "premises_without_lsa": reports.premises_without_lsa(actor=me),
        }

    def _ra_staff(self, me: Person, now: dt.datetime, sections: Sections) -> dict[str, Any]:
        awaiting = reports.people_awaiting_identity_check(actor=me)
        data: dict[str, Any] = {
            "id_checks_count": awaiting.count(),
            "id_checks": [(p, duration(now - p.created_at)) for p in awaiting[:SHOWN]],
        }
        if sections.ra_decider:
            queue = reports.open_requests(actor=me)
            bands = reports.requests_by_age(actor=me)
            escalated = escalations_for(actor=me)
            data.update(
                queue_count=sum(b.total for b in bands),
                queue_overdue=sum(b.overdue for b in bands),
                queue_bands=bands,
                queue=[
                    (r, duration(now - r.raised_at), due_text(r.due_at, now)) for r in queue[:SHOWN]
                ],
                escalated_count=escalated.count(),
                escalated=[(r, due_text(r.due_at, now)) for r in escalated[:SHOWN]],
            )
        return data

    def _oversight(self, me: Person) -> dict[str, Any]:
        by_org = reports.rights_holders_by_organisation(actor=me)
        charts = [
            table_item(slug, *chart_table(actor=me, slug=slug, key=key))
            for slug, key in OVERSIGHT_CHARTS
        ]
        activity = charts[0]["table"].rows
        return {
            "escalation_counts": reports.escalation_counts(actor=me),
            "open_escalations": list(reports.open_escalations(actor=me)[:SHOWN]),
            "rights_rows": [
                (
                    row.organisation,
                    row.count(Right.LSA),
                    row.count(Right.SPONSOR),
                )
                for row in by_org[:10]
            ],
            "rights_orgs_count": len(by_org),
            "charts": charts,
            "activity_weeks": len(activity),
            "activity_totals": tuple(
                sum(int(row[key] or 0) for row in activity)
                for key in ("self_unlocks", "assisted_unlocks", "renewals")
            ),
            "plural": plural,
        }
