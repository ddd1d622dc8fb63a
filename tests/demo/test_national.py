"""`cis bench-data`: the benchmark directory's counts, its links, its certificates and its trail."""

from __future__ import annotations

import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import CommandError, call_command
from django.db.models import Count

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.core.errors import InvalidState
from cis.demo.national import bench_data
from cis.organisations.models import Organisation, OrganisationType, RegistrationAuthority
from cis.people.models import Person, PersonStatus
from cis.pki import authority
from cis.pki.models import Certificate
from cis.pki.states import CertificateStatus
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right, RightGrant
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.states import LIVE, CardStatus
from cis.workflow.models import Request, RequestEvent
from cis.workflow.states import OPEN
from tests.factories.directory import PersonFactory

# Checkpoints are written on commit; the generator commits table by table.
pytestmark = pytest.mark.django_db(transaction=True)
PEOPLE = 600


@pytest.fixture
def directory() -> None:
    bench_data(people=PEOPLE)


def test_the_sizes_follow_the_number_of_people(directory: None) -> None:
    assert Person.objects.count() == PEOPLE
    organisations = Organisation.objects.count()
    assert organisations == 20  # at least 20; one per hundred people
    kinds = set(Organisation.objects.values_list("org_type", flat=True))
    assert {
        OrganisationType.NHS_TRUST,
        OrganisationType.COMMUNITY_PHARMACY,
        OrganisationType.GP_PRACTICE,
    } <= kinds
    # Two positions per person on average (between 1 and 3 each).
    assignments = PositionAssignment.objects.count()
    assert 1.7 * PEOPLE < assignments < 2.3 * PEOPLE
    held = PositionAssignment.objects.values("person").annotate(n=Count("id"))
    assert {row["n"] for row in held} <= {1, 2, 3}
    # A card and a certificate each for everyone verified, a second card after a loss.
    verified = Person.objects.exclude(status=PersonStatus.RESTRICTED).count()
    assert verified <= Smartcard.objects.count() < 1.2 * verified
    assert Certificate.objects.count() == Smartcard.objects.count()
    assert CardCertificate.objects.count() == Smartcard.objects.count()
    assert Request.objects.count() == PEOPLE * 3 // 10
    assert Request.objects.filter(state__in=OPEN).exists()


def test_every_link_points_where_the_directory_says(directory: None) -> None:
    # Organisations: children under trusts and head offices, each served by an RA.
    for org in Organisation.objects.exclude(parent=None).select_related("parent"):
        assert org.parent.org_type in (  # type: ignore[union-attr]
            OrganisationType.NHS_TRUST,
            OrganisationType.PHARMACY_HEAD_OFFICE,
        )
    assert not Organisation.objects.filter(serving_ra=None).exists()
    # Every person is registered at the RA serving their first organisation.
    for person in Person.objects.all()[:100]:
        first = person.assignments.order_by("id").select_related("position__organisation")[0]
        assert first.position.organisation.serving_ra_id == person.registered_ra_id
    # Every position carries a job role; every card's certificate is its holder's.
    assert not Position.objects.filter(job_roles=None).exists()
    for link in CardCertificate.objects.select_related("card", "certificate")[:200]:
        assert link.certificate.person_id == link.card.holder_id
        assert link.certificate.card_ref == link.card.chip_serial
    # A closed profile holds no live card and no current position.
    closed = Person.objects.filter(status=PersonStatus.CLOSED)
    assert closed.exists()
    assert not Smartcard.objects.filter(holder__in=closed, status__in=LIVE).exists()
    assert not PositionAssignment.objects.filter(person__in=closed, end_date=None).exists()
    # Cancelled cards' certificates are revoked; live cards' are valid.
    cancelled = Certificate.objects.filter(card_link__card__status=CardStatus.CANCELLED)
    assert cancelled.exists()
    assert not cancelled.filter(status=CertificateStatus.VALID).exists()
    live = Certificate.objects.filter(card_link__card__status__in=LIVE)
    assert not live.exclude(status=CertificateStatus.VALID).exists()
    # Requests sit at their subject's organisation, in its RA's queue.
    for request in Request.objects.select_related("organisation")[:100]:
        assert request.ra_id == request.organisation.serving_ra_id  # type: ignore[union-attr]
        assert RequestEvent.objects.filter(request=request).exists()
    # Each RA has agents and a manager, and some organisations an LSA.
    for ra in RegistrationAuthority.objects.all():
        rights = set(RightGrant.objects.filter(ra=ra).values_list("right", flat=True))
        assert {Right.RA_AGENT, Right.RA_MANAGER} <= rights
    assert RightGrant.objects.filter(right=Right.LSA).exists()


def test_certificates_are_real_and_signed_by_the_issuing_ca(directory: None) -> None:
    issuing = authority.issuing().certificate
    issuer_key = issuing.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    for row in Certificate.objects.select_related("person")[:50]:
        cert = x509.load_der_x509_certificate(bytes(row.der))
        cert.verify_directly_issued_by(issuing)
        assert format(cert.serial_number, "x").zfill(len(row.serial_hex)) == row.serial_hex
        assert cert.subject.rfc4514_string() == row.subject
        assert row.person.user_id in row.subject
        assert cert.not_valid_after_utc == row.not_after


def test_a_year_of_audit_events_verifies(directory: None) -> None:
    result = verify()
    assert result.intact, result.problem
    events = AuditEvent.objects.filter(rule="bench-data: generated history")
    assert events.count() >= Request.objects.count()
    first, last = events.order_by("id").first(), events.order_by("id").last()
    assert first is not None
    assert last is not None
    assert (last.at - first.at).days >= 300  # spread over the year, oldest first
    # Each is by the RA Agent who acted, not by whoever loaded them.
    raised = events.filter(action="request.raise").first()
    assert raised is not None
    assert RightGrant.objects.filter(
        person__user_id=raised.actor_ref, right=Right.RA_AGENT
    ).exists()


def test_the_directory_takes_new_rows_after_the_loaded_ones(directory: None) -> None:
    person = PersonFactory()
    assert person.pk == PEOPLE + 1


def test_it_fills_only_an_empty_directory(directory: None) -> None:
    with pytest.raises(InvalidState, match="empty directory"):
        bench_data(people=PEOPLE)
    assert Person.objects.count() == PEOPLE
    out = io.StringIO()
    with pytest.raises(CommandError, match="empty directory"):
        call_command("bench-data", "--people", "200", stdout=out)
    assert Person.objects.count() == PEOPLE
