"""The reports, one function each, every one scoped through the policy's visible().

Every report reads through `visible(actor, Action.REPORT_VIEW, ...)`: the people (and so their
cards, certificates and positions), organisations, requests and rights that the viewer's grants
reach, for LSAs, Sponsors, ID Checkers, RA staff and the service desk alike. REPORT_VIEW is never
self-service, so a card holder without a right sees empty reports; the console sees everything.
Counts are made by the database, so a report costs a few statements however large the scope.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from cis.authz.actions import Action
from cis.authz.policy import Actor, can
from cis.authz.scope import active_assignments
from cis.authz.scoping import visible
from cis.core import clock
from cis.organisations.models import Organisation, OrganisationStatus, OrganisationType
from cis.people.models import Person, PersonStatus
from cis.pki.models import Certificate
from cis.pki.states import CertificateStatus
from cis.rbac.models import PositionAssignment
from cis.rights.models import Right, RightGrant
from cis.smartcards.models import CardOperation, Smartcard
from cis.smartcards.states import CardStatus, OperationKind
from cis.workflow.models import Escalation, Request
from cis.workflow.states import OPEN, EscalationLevel, RequestType

EXPIRY_WINDOWS = (7, 30, 90)
# Rights that put a local administrator at the premises: Sponsors carry LSA (DESIGN §2).
LOCAL_ADMIN_RIGHTS = (Right.LSA, Right.SPONSOR)


def may_view_reports(*, actor: Actor | None) -> bool:
    """Whether the actor holds any right that shows reports (for menus and home pages)."""
    return can(actor, Action.REPORT_VIEW)


def _people(actor: Actor) -> QuerySet[Person]:
    return visible(actor, Action.REPORT_VIEW, Person.objects.all())


def _organisations(actor: Actor) -> QuerySet[Organisation]:
    return visible(actor, Action.REPORT_VIEW, Organisation.objects.all())


def _requests(actor: Actor) -> QuerySet[Request]:
    return visible(actor, Action.REPORT_VIEW, Request.objects.all())


# Cards and certificates --------------------------------------------------------------------


def locked_cards(*, actor: Actor) -> QuerySet[Smartcard]:
    """Locked cards of the holders in scope, longest locked first."""
    return (
        Smartcard.objects.filter(status=CardStatus.LOCKED, holder__in=_people(actor))
        .select_related("holder")
        .order_by("locked_at", "id")
    )


def certificates_expiring(*, actor: Actor, within_days: int) -> QuerySet[Certificate]:
    """Valid certificates of holders in scope that expire in the next `within_days` days,
    soonest first (an expired one is no longer 'expiring': see the certificate search)."""
    now = clock.now()
    return (
        visible(actor, Action.REPORT_VIEW, Certificate.objects.all())
        .filter(
            status=CertificateStatus.VALID,
            not_after__gte=now,
            not_after__lte=now + dt.timedelta(days=within_days),
        )
        .select_related("person")
        .order_by("not_after", "id")
    )


def certificates_expiring_counts(*, actor: Actor) -> dict[int, int]:
    """How many certificates in scope expire within 7, 30 and 90 days (each includes the
    shorter windows), in one statement."""
    now = clock.now()
    rows = visible(actor, Action.REPORT_VIEW, Certificate.objects.all()).filter(
        status=CertificateStatus.VALID, not_after__gte=now
    )
    counts = rows.aggregate(
        **{
            f"d{days}": Count("id", filter=Q(not_after__lte=now + dt.timedelta(days=days)))
            for days in EXPIRY_WINDOWS
        }
    )
    return {days: int(counts[f"d{days}"]) for days in EXPIRY_WINDOWS}


# People and positions ----------------------------------------------------------------------


def positions_ending(*, actor: Actor, within_days: int = 30) -> QuerySet[PositionAssignment]:
    """Positions in scope whose end date falls today or in the next `within_days` days."""
    today = clock.today()
    return (
        visible(actor, Action.REPORT_VIEW, PositionAssignment.objects.all())
        .filter(active_assignments(today))
        .filter(end_date__isnull=False, end_date__lte=today + dt.timedelta(days=within_days))
        .select_related("person", "position", "position__organisation")
        .order_by("end_date", "id")
    )


def people_awaiting_identity_check(*, actor: Actor) -> QuerySet[Person]:
    """Registered people whose identity has not been verified yet, longest waiting first."""
    return (
        _people(actor)
        .filter(status=PersonStatus.RESTRICTED)
        .select_related("registered_ra")
        .order_by("created_at", "id")
    )


def registrations_awaiting_identity_check(*, actor: Actor) -> QuerySet[Request]:
    """Open requests to register a new person: the check is recorded when one is approved."""
    return (
        _requests(actor)
        .filter(request_type=RequestType.PERSON_REGISTER, state__in=sorted(OPEN))
        .select_related("organisation", "ra", "raised_by")
        .order_by("raised_at", "id")
    )


# Requests and escalations ------------------------------------------------------------------

# Age bands of open requests: (label, from days, up to days (exclusive), None for no limit).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("Under 1 day", 0, 1),
    ("1 to 2 days", 1, 3),
    ("3 to 6 days", 3, 7),
    ("1 to 4 weeks", 7, 28),
    ("4 weeks or more", 28, None),
)


@dataclass(frozen=True)
class AgeBand:
    label: str
    within_due: int
    overdue: int

    @property
    def total(self) -> int:
        return self.within_due + self.overdue


def open_requests(*, actor: Actor) -> QuerySet[Request]:
    """Requests in scope still waiting for the RA (submitted or escalated), soonest due first."""
    return (
        _requests(actor)
        .filter(state__in=sorted(OPEN))
        .select_related("subject", "organisation", "ra", "raised_by")
        .order_by("due_at", "id")
    )


def requests_by_age(*, actor: Actor) -> list[AgeBand]:
    """Open requests in scope by how long ago they were raised, each band split into those
    still within their due time and those past it; one statement."""
    now = clock.now()
    aggregates = {}
    for index, (_label, low, high) in enumerate(AGE_BANDS):
        band = Q(raised_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            band &= Q(raised_at__gt=now - dt.timedelta(days=high))
        aggregates[f"b{index}_due"] = Count("id", filter=band & Q(due_at__gte=now))
        aggregates[f"b{index}_over"] = Count("id", filter=band & Q(due_at__lt=now))
    counts = _requests(actor).filter(state__in=sorted(OPEN)).aggregate(**aggregates)
    return [
        AgeBand(label, int(counts[f"b{i}_due"]), int(counts[f"b{i}_over"]))
        for i, (label, _low, _high) in enumerate(AGE_BANDS)
    ]


def open_escalations(*, actor: Actor) -> QuerySet[Escalation]:
    """Escalations still open on requests in scope, oldest first."""
    return (
        Escalation.objects.filter(closed_at__isnull=True, request__in=_requests(actor))
        .select_related("request", "request__subject", "request__organisation", "raised_by")
        .order_by("raised_at", "id")
    )


@dataclass(frozen=True)
class EscalationCounts:
    to_ra_manager: int
    to_service_desk: int
    by_the_clock: int
    by_hand: int

    @property
    def total(self) -> int:
        return self.to_ra_manager + self.to_service_desk


def escalation_counts(*, actor: Actor) -> EscalationCounts:
    """Open escalations in scope by level, and how they were raised (the due time passing, or
    someone chasing by hand); one statement."""
    counts = Escalation.objects.filter(
        closed_at__isnull=True, request__in=_requests(actor)
    ).aggregate(
        manager=Count("id", filter=Q(level=EscalationLevel.RA_MANAGER)),
        desk=Count("id", filter=Q(level=EscalationLevel.SERVICE_DESK)),
        clock=Count("id", filter=Q(raised_by__isnull=True)),
        hand=Count("id", filter=Q(raised_by__isnull=False)),
    )
    return EscalationCounts(
        int(counts["manager"]), int(counts["desk"]), int(counts["clock"]), int(counts["hand"])
    )


# Card activity over time -------------------------------------------------------------------

PERIODS = ("week", "month")


@dataclass(frozen=True)
class ActivityPeriod:
    """Card work completed in one week (from its Monday) or one calendar month."""

    starts: dt.date
    self_unlocks: int = 0
    assisted_unlocks: int = 0
    renewals: int = 0

    @property
    def unlocks(self) -> int:
        return self.self_unlocks + self.assisted_unlocks


def _period_starts(period: str, count: int, today: dt.date) -> list[dt.date]:
    if period == "week":
        monday = today - dt.timedelta(days=today.weekday())
        return [monday - dt.timedelta(weeks=n) for n in range(count - 1, -1, -1)]
    starts = []
    year, month = today.year, today.month
    for _ in range(count):
        starts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def card_activity(*, actor: Actor, period: str = "week", count: int = 12) -> list[ActivityPeriod]:
    """Self-service unlocks against assisted ones, and renewals, completed on cards of holders in
    scope, per week or month over the last `count` periods (the current one last)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    starts = _period_starts(period, count, clock.today())
    since = timezone.make_aware(dt.datetime.combine(starts[0], dt.time.min))
    trunc = TruncWeek if period == "week" else TruncMonth
    rows = (
        CardOperation.objects.filter(
            completed_at__gte=since,
            kind__in=[OperationKind.UNLOCK, OperationKind.SELF_UNLOCK, OperationKind.RENEW],
            card__holder__in=_people(actor),
        )
        .annotate(bucket=trunc("completed_at"))
        .values("bucket", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for row in rows:
        bucket = row["bucket"]
        day = timezone.localdate(bucket) if isinstance(bucket, dt.datetime) else bucket
        counts[day][row["kind"]] += row["n"]
    return [
        ActivityPeriod(
            starts=start,
            self_unlocks=counts[start][OperationKind.SELF_UNLOCK],
            assisted_unlocks=counts[start][OperationKind.UNLOCK],
            renewals=counts[start][OperationKind.RENEW],
        )
        for start in starts
    ]


# Rights and organisations ------------------------------------------------------------------


@dataclass
class OrganisationRights:
    """Who holds CIS rights at one organisation: people per right, and their names."""

    organisation: Organisation
    holders: dict[str, list[Person]] = field(default_factory=dict)

    def count(self, right: str) -> int:
        return len(self.holders.get(right, []))

    @property
    def has_local_admin(self) -> bool:
        return any(self.holders.get(r) for r in LOCAL_ADMIN_RIGHTS)


def _grants_in_force() -> QuerySet[RightGrant]:
    today = clock.today()
    return RightGrant.objects.filter(
        revoked_at__isnull=True,
        start_date__lte=today,
        person__status=PersonStatus.ACTIVE,
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))


def _ancestry(org_ids: set[int]) -> dict[int, set[int]]:
    """For each organisation, itself and every organisation above it (a query per level)."""
    parent: dict[int, int | None] = {}
    frontier = set(org_ids)
    while frontier:
        rows = Organisation.objects.filter(id__in=sorted(frontier)).values_list("id", "parent_id")
        found = dict(rows)
        parent.update(found)
        frontier = {p for p in found.values() if p is not None and p not in parent}
    chains: dict[int, set[int]] = {}
    for org_id in org_ids:
        line: set[int] = set()
        at: int | None = org_id
        while at is not None and at not in line:  # a loop in the parents ends the walk
            line.add(at)
            at = parent.get(at)
        chains[org_id] = line
    return chains


def _rights_at(organisations: Iterable[Organisation]) -> list[OrganisationRights]:
    """For each organisation, the people whose organisation grants reach it: a grant at the
    organisation itself, or at one above it with its child organisations."""
    table = {org.id: OrganisationRights(org) for org in organisations}
    if not table:
        return []
    below: dict[int, set[int]] = defaultdict(set)  # an organisation -> those in the table under it
    for org_id, line in _ancestry(set(table)).items():
        for above in line:
            below[above].add(org_id)
    grants = (
        _grants_in_force()
        .filter(organisation_id__in=sorted(below))
        .select_related("person")
        .order_by("person__family_name", "person__given_name", "id")
    )
    for grant in grants:
        assert grant.organisation_id is not None  # noqa: S101 - filtered above
        reached = below[grant.organisation_id] if grant.include_children else set()
        if grant.organisation_id in table:
            reached = reached | {grant.organisation_id}
        for org_id in reached:
            people = table[org_id].holders.setdefault(grant.right, [])
            if grant.person not in people:
                people.append(grant.person)
    return list(table.values())


def rights_holders_by_organisation(*, actor: Actor) -> list[OrganisationRights]:
    """Open organisations in scope with the people holding each CIS right there (granted at the
    organisation, or at a parent with its child organisations); RA-wide and national rights are
    in ra_wide_rights_holders()."""
    organisations = _organisations(actor).filter(status=OrganisationStatus.OPEN)
    return _rights_at(organisations.select_related("parent", "serving_ra").order_by("ods_code"))


def ra_wide_rights_holders(*, actor: Actor) -> QuerySet[RightGrant]:
    """Rights granted across a whole RA's area, for the RAs serving organisations in scope."""
    ras = _organisations(actor).values("serving_ra_id")
    return (
        _grants_in_force()
        .filter(ra_id__in=ras)
        .select_related("person", "ra")
        .order_by("ra__code", "right", "person__family_name", "id")
    )


def premises_without_lsa(*, actor: Actor) -> list[Organisation]:
    """Open premises in scope where nobody holds an LSA (or Sponsor) right, directly or through
    a parent organisation: nobody there can unlock a card with the holder present. RA-wide
    rights do not count (RA staff are not at the premises); RA offices are left out."""
    organisations = (
        _organisations(actor)
        .filter(status=OrganisationStatus.OPEN)
        .exclude(org_type=OrganisationType.RA_HOST)
        .select_related("parent", "serving_ra")
        .order_by("ods_code")
    )
    return [row.organisation for row in _rights_at(organisations) if not row.has_local_admin]


__all__ = [
    "AGE_BANDS",
    "EXPIRY_WINDOWS",
    "LOCAL_ADMIN_RIGHTS",
    "PERIODS",
    "ActivityPeriod",
    "AgeBand",
    "EscalationCounts",
    "OrganisationRights",
    "card_activity",
    "certificates_expiring",
    "certificates_expiring_counts",
    "escalation_counts",
    "locked_cards",
    "may_view_reports",
    "open_escalations",
    "open_requests",
    "people_awaiting_identity_check",
    "positions_ending",
    "premises_without_lsa",
    "ra_wide_rights_holders",
    "registrations_awaiting_identity_check",
    "requests_by_age",
    "rights_holders_by_organisation",
]
