"""A world for the reports: a few of everything at each organisation, in known numbers.

Rows are written directly (these are fixtures); each report is then checked against a count
made here from the world's own description, for every viewer, so a figure that leaks outside
the viewer's scope or misses something inside it shows as a mismatch.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from cis.core import clock
from cis.organisations.models import Organisation, OrganisationStatus, OrganisationType
from cis.people.models import Person, PersonStatus
from cis.pki.models import AuthorityRole, Certificate, CertificateAuthority
from cis.pki.states import CertificateStatus
from cis.rbac.models import Position
from cis.rights.models import Right
from cis.smartcards.models import CardOperation, Smartcard
from cis.smartcards.states import CardStatus, OperationKind
from cis.workflow.models import Escalation, Request
from cis.workflow.states import EscalationLevel, RequestState, RequestType
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

ORGS = ("HO", "BR1", "BR2", "IND", "RAH", "ELS", "SHUT")
# What each viewer's grants reach (organisations), and whether they reach RA A's registrations.
SCOPE: dict[str, set[str]] = {
    "holder": set(),
    "lsa_br1": {"BR1"},
    "sponsor_ho": {"HO", "BR1", "BR2"},
    "id_checker": {"HO", "BR1", "BR2", "IND", "RAH", "SHUT"},
    "ra_manager": {"HO", "BR1", "BR2", "IND", "RAH", "SHUT"},
    "desk": set(ORGS),
    "lsa_els": {"ELS"},
}
RA_WIDE = {"id_checker", "ra_manager"}
NATIONAL = {"desk"}

_numbers = itertools.count(1)


@dataclass
class World:
    ra_a: object
    ra_b: object
    orgs: dict[str, Organisation]
    viewers: dict[str, Person] = field(default_factory=dict)
    # Per organisation, what was made there.
    locked: dict[str, int] = field(default_factory=dict)
    expiring: dict[str, dict[int, int]] = field(default_factory=dict)
    ending: dict[str, int] = field(default_factory=dict)
    open_requests: dict[str, list[Request]] = field(default_factory=dict)
    escalations: dict[str, list[Escalation]] = field(default_factory=dict)
    operations: dict[str, list[CardOperation]] = field(default_factory=dict)
    restricted_a: int = 0
    restricted_b: int = 0


def _issuer() -> CertificateAuthority:
    now = clock.now()
    return CertificateAuthority.objects.create(
        role=AuthorityRole.ISSUING,
        subject="CN=Reports test CA",
        serial_hex="01",
        der=b"",
        key_store="file",
        key_label="none",
        key_algorithm="ec-p256",
        not_before=now - dt.timedelta(days=10),
        not_after=now + dt.timedelta(days=3650),
    )


def _card(holder: Person, status: str = CardStatus.ACTIVE) -> Smartcard:
    now = clock.now()
    return Smartcard.objects.create(
        chip_serial=f"RPT{next(_numbers):08d}",
        holder=holder,
        status=status,
        issued_at=now - dt.timedelta(days=100),
        activated_at=now - dt.timedelta(days=100),
        locked_at=now - dt.timedelta(hours=next(_numbers)) if status == CardStatus.LOCKED else None,
        so_pin_sealed="sealed",
    )


def _certificate(
    issuer: CertificateAuthority, holder: Person, days_left: float, **kw: object
) -> None:
    now = clock.now()
    Certificate.objects.create(
        issuer=issuer,
        serial_hex=f"{next(_numbers):08x}",
        person=holder,
        subject=f"CN={holder.full_name}",
        not_before=now - dt.timedelta(days=300),
        not_after=now + dt.timedelta(days=days_left),
        key_algorithm="ec-p256",
        spki_sha256=f"{next(_numbers):064x}",
        der=b"",
        **kw,
    )


def _staff(org: Organisation, position: Position, **kw: object) -> Person:
    person = PersonFactory(registered_ra=org.serving_ra, **kw)
    AssignmentFactory(person=person, position=position)
    return person


def build() -> World:
    now, today = clock.now(), clock.today()
    ra_a = RegistrationAuthorityFactory(code="RA-A", name="RA A")
    ra_b = RegistrationAuthorityFactory(code="RA-B", name="RA B")
    ho = OrganisationFactory(
        ods_code="FHO01",
        name="Head office",
        org_type=OrganisationType.PHARMACY_HEAD_OFFICE,
        serving_ra=ra_a,
    )
    orgs = {
        "HO": ho,
        "BR1": OrganisationFactory(ods_code="FBR01", name="Branch 1", parent=ho, serving_ra=ra_a),
        "BR2": OrganisationFactory(ods_code="FBR02", name="Branch 2", parent=ho, serving_ra=ra_a),
        "IND": OrganisationFactory(ods_code="FIN01", name="Independent", serving_ra=ra_a),
        "RAH": OrganisationFactory(
            ods_code="YRA01", name="RA office", org_type=OrganisationType.RA_HOST, serving_ra=ra_a
        ),
        "ELS": OrganisationFactory(ods_code="FEL01", name="Elsewhere", serving_ra=ra_b),
        # Closed: its people are out of everyone's scope but the service desk's.
        "SHUT": OrganisationFactory(ods_code="FSH01", name="Shut", serving_ra=ra_a),
    }
    world = World(ra_a, ra_b, orgs)
    positions = {k: PositionFactory(organisation=o, name="Staff") for k, o in orgs.items()}
    issuer = _issuer()

    # Viewers, each working at the organisation their right is granted at (RA staff at the RA
    # office), registered at RA B so that only their positions place them anywhere.
    def viewer(name: str, at: str, right: str | None, **grant: object) -> None:
        person = _staff(orgs[at], positions[at], given_name=name, family_name="Viewer")
        if right:
            RightGrantFactory(person=person, right=right, **grant)
        world.viewers[name] = person

    viewer("holder", "BR1", None)
    viewer("lsa_br1", "BR1", Right.LSA, organisation=orgs["BR1"])
    viewer("sponsor_ho", "HO", Right.SPONSOR, organisation=ho, include_children=True)
    viewer("id_checker", "RAH", Right.ID_CHECKER, ra=ra_a)
    viewer("ra_manager", "RAH", Right.RA_MANAGER, ra=ra_a)
    viewer("desk", "RAH", Right.SERVICE_DESK)
    viewer("lsa_els", "ELS", Right.LSA, organisation=orgs["ELS"])

    counts = {"HO": 3, "BR1": 2, "BR2": 1, "IND": 4, "RAH": 0, "ELS": 2, "SHUT": 1}
    for key, org in orgs.items():
        n = counts[key]
        position = positions[key]
        # Locked cards, and active ones that must not count.
        for _ in range(n):
            _card(_staff(org, position), CardStatus.LOCKED)
            _card(_staff(org, position))
        world.locked[key] = n
        # Certificates: one each expiring in 3, 20, 60 and 200 days per unit of n, plus some
        # that must not count (revoked, superseded, already expired).
        for _ in range(n):
            holder = _staff(org, position)
            for days in (3, 20, 60, 200):
                _certificate(issuer, holder, days)
            _certificate(
                issuer,
                holder,
                5,
                status=CertificateStatus.REVOKED,
                revoked_at=now,
                revocation_reason="key_compromise",
            )
            _certificate(
                issuer,
                holder,
                10,
                status=CertificateStatus.SUPERSEDED,
                revoked_at=now,
                revocation_reason="superseded",
            )
            _certificate(issuer, holder, -2)
        world.expiring[key] = {7: n, 30: 2 * n, 90: 3 * n}
        # Positions ending: n within 30 days, plus one in 45 days and one ended yesterday.
        for i in range(n):
            AssignmentFactory(
                person=_staff(org, position),
                position=position,
                end_date=today + dt.timedelta(days=i * 7),
            )
        AssignmentFactory(
            person=_staff(org, position), position=position, end_date=today + dt.timedelta(days=45)
        )
        AssignmentFactory(
            person=PersonFactory(registered_ra=org.serving_ra),
            position=position,
            end_date=today - dt.timedelta(days=1),
        )
        world.ending[key] = n
        # Requests: open ones of various ages, some overdue, and closed ones that never count.
        world.open_requests[key] = []
        world.escalations[key] = []
        for i in range(n):
            age = (0.5, 2, 5, 10, 40)[i % 5]
            raised = now - dt.timedelta(days=age)
            overdue = i % 2 == 1
            request = Request.objects.create(
                request_type=RequestType.POSITION_ADD,
                state=RequestState.ESCALATED if overdue else RequestState.SUBMITTED,
                subject=_staff(org, position),
                organisation=org,
                ra=org.serving_ra,
                raised_at=raised,
                due_at=now - dt.timedelta(hours=1) if overdue else now + dt.timedelta(hours=5),
                escalation_level=EscalationLevel.RA_MANAGER if overdue else 0,
            )
            world.open_requests[key].append(request)
            if overdue:
                world.escalations[key].append(
                    Escalation.objects.create(
                        request=request,
                        level=EscalationLevel.RA_MANAGER,
                        raised_by=None if i % 4 == 1 else world.viewers["lsa_br1"],
                        reason="Past its due time",
                        raised_at=now - dt.timedelta(hours=1),
                    )
                )
        closed = Request.objects.create(
            request_type=RequestType.POSITION_ADD,
            state=RequestState.APPLIED,
            subject=_staff(org, position),
            organisation=org,
            ra=org.serving_ra,
            raised_at=now - dt.timedelta(days=3),
            due_at=now - dt.timedelta(days=1),
            escalation_level=EscalationLevel.RA_MANAGER,
            closed_at=now,
        )
        Escalation.objects.create(
            request=closed,
            level=EscalationLevel.RA_MANAGER,
            reason="closed",
            raised_at=now - dt.timedelta(days=1),
            closed_at=now,
        )
        # Card work done: per unit of n, a self-unlock this week, an assisted unlock 3 weeks
        # ago, a renewal 5 weeks ago; an unfinished unlock and an issue never count.
        world.operations[key] = []
        holder = _staff(org, position)
        card = _card(holder)
        for _ in range(n):
            for kind, weeks_ago in (
                (OperationKind.SELF_UNLOCK, 0),
                (OperationKind.UNLOCK, 3),
                (OperationKind.RENEW, 5),
                (OperationKind.ISSUE, 1),
            ):
                done = now - dt.timedelta(weeks=weeks_ago)
                world.operations[key].append(
                    CardOperation.objects.create(
                        ref=f"OP{next(_numbers)}",
                        card=card,
                        kind=kind,
                        action="x",
                        actor_ref="x",
                        rule="x",
                        challenge="x",
                        expires_at=done,
                        completed_at=done,
                    )
                )
        CardOperation.objects.create(
            ref=f"OP{next(_numbers)}",
            card=card,
            kind=OperationKind.UNLOCK,
            action="x",
            actor_ref="x",
            rule="x",
            challenge="x",
            expires_at=now,
        )

    # People registered but not yet verified: RA-wide rights and the service desk see them.
    for _ in range(3):
        PersonFactory(registered_ra=ra_a, status=PersonStatus.RESTRICTED)
    for _ in range(2):
        PersonFactory(registered_ra=ra_b, status=PersonStatus.RESTRICTED)
    world.restricted_a, world.restricted_b = 3, 2

    # Local administrators: BR1 and ELS have an LSA (the viewers), HO, BR1 and BR2 the
    # sponsor with children; IND has an LSA whose grant ended, SHUT is closed.
    RightGrantFactory(
        person=_staff(orgs["IND"], positions["IND"]),
        right=Right.LSA,
        organisation=orgs["IND"],
        end_date=today - dt.timedelta(days=1),
    )
    Organisation.objects.filter(pk=orgs["SHUT"].pk).update(status=OrganisationStatus.CLOSED)
    return world


def reach(viewer: str) -> set[str]:
    """The organisations whose people a viewer's reports cover. A closed organisation's
    positions are not active, so its people drop out of an organisation right's scope; RA-wide
    rights still cover them, as people their RA registered."""
    if viewer in NATIONAL:
        return set(ORGS)
    if viewer in RA_WIDE:
        return SCOPE[viewer]
    return SCOPE[viewer] - {"SHUT"}
