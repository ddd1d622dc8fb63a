"""Revocation and the CRL: allowed reasons, a new CRL each time, cadence and expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from django.db import transaction

from cis.audit.models import AuditEvent
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.core.errors import InvalidState, NotPermitted, ValidationFailed
from cis.pki import crl
from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate, CrlState
from cis.pki.services import certificate_issue, certificate_revoke, certificate_supersede
from cis.pki.states import CertificateStatus, RevocationReason

from .conftest import Directory, make_csr

pytestmark = pytest.mark.django_db


def _crl() -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(crl.current_crl().der)


def _number(c: x509.CertificateRevocationList) -> int:
    return c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def _issue(people: Directory, **kwargs: object) -> Certificate:
    return certificate_issue(
        actor=people.agent,
        person=people.holder,
        csr_pem=make_csr(),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("given", "stored", "flag"),
    [
        ("unspecified", RevocationReason.UNSPECIFIED, None),
        ("keyCompromise", RevocationReason.KEY_COMPROMISE, x509.ReasonFlags.key_compromise),
        (
            "affiliation_changed",
            RevocationReason.AFFILIATION_CHANGED,
            x509.ReasonFlags.affiliation_changed,
        ),
        ("superseded", RevocationReason.SUPERSEDED, x509.ReasonFlags.superseded),
        (
            "cessationOfOperation",
            RevocationReason.CESSATION_OF_OPERATION,
            x509.ReasonFlags.cessation_of_operation,
        ),
        (
            "privilegeWithdrawn",
            RevocationReason.PRIVILEGE_WITHDRAWN,
            x509.ReasonFlags.privilege_withdrawn,
        ),
    ],
)
def test_each_allowed_reason_reaches_the_crl(
    ca: Hierarchy, people: Directory, given: str, stored: str, flag: x509.ReasonFlags | None
) -> None:
    cert = _issue(people)
    before = _number(_crl())
    revoked = certificate_revoke(actor=people.agent, certificate=cert, reason=given)
    assert revoked.revocation_reason == stored
    assert revoked.revoked_at is not None
    listed = _crl()
    assert _number(listed) == before + 1
    entry = listed.get_revoked_certificate_by_serial_number(int(cert.serial_hex, 16))
    assert entry is not None
    assert entry.revocation_date_utc == revoked.revoked_at
    if flag is None:  # unspecified: the reasonCode is left out (BR 7.2.2)
        with pytest.raises(x509.ExtensionNotFound):
            entry.extensions.get_extension_for_class(x509.CRLReason)
    else:
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == flag
    expected = CertificateStatus.SUPERSEDED if given == "superseded" else CertificateStatus.REVOKED
    assert revoked.status == expected


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("certificateHold", "never suspends"),
        ("removeFromCRL", "certificateHold"),
        ("cACompromise", "CA certificates"),
        ("aACompromise", "attribute authorities"),
        ("because", "not a revocation reason"),
    ],
)
def test_other_reasons_are_refused(
    ca: Hierarchy, people: Directory, reason: str, message: str
) -> None:
    cert = _issue(people)
    with pytest.raises(ValidationFailed, match=message):
        certificate_revoke(actor=people.agent, certificate=cert, reason=reason)
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID


def test_revocation_is_final_and_audited(ca: Hierarchy, people: Directory) -> None:
    cert = _issue(people)
    certificate_revoke(actor=people.agent, certificate=cert, reason="keyCompromise")
    with pytest.raises(InvalidState, match="already revoked"):
        certificate_revoke(actor=people.agent, certificate=cert, reason="unspecified")
    event = AuditEvent.objects.get(action="certificate.revoke")
    assert event.before["status"] == "valid"
    assert event.after["status"] == "revoked"
    assert event.after["revocation_reason"] == "key_compromise"
    assert event.target_ref == cert.serial_hex


def test_revoke_is_for_ra_agents_in_scope_not_for_oneself(ca: Hierarchy, people: Directory) -> None:
    cert = _issue(people)
    for actor in (people.lsa, people.holder, people.outsider):
        with pytest.raises(NotPermitted):
            certificate_revoke(actor=actor, certificate=cert, reason="unspecified")
    own = certificate_issue(actor=CONSOLE, person=people.agent, csr_pem=make_csr())
    with pytest.raises(NotPermitted, match="own record"):
        certificate_revoke(actor=people.agent, certificate=own, reason="unspecified")
    assert Certificate.objects.filter(status=CertificateStatus.VALID).count() == 2


def test_a_card_step_is_decided_as_its_card_action(ca: Hierarchy, people: Directory) -> None:
    """A holder renewing their own card gets the certificate and supersedes the old one: the
    policy decides both as steps of the renewal, which the holder may take on their own card."""
    old = _issue(people)
    with transaction.atomic():
        new = certificate_issue(
            actor=people.holder,
            person=people.holder,
            csr_pem=make_csr(),
            card_ref="card-1",
            card_action=Action.CARD_RENEW,
        )
        certificate_supersede(
            actor=people.holder,
            certificate=old,
            replacement=new,
            card_action=Action.CARD_RENEW,
        )
    old.refresh_from_db()
    assert old.status == CertificateStatus.SUPERSEDED
    assert old.superseded_by == new
    assert new.card_ref == "card-1"
    rules = set(
        AuditEvent.objects.filter(
            target_ref__in=[old.serial_hex, new.serial_hex], actor_ref=people.holder.user_id
        ).values_list("rule", flat=True)
    )
    assert rules == {"step-of:card.renew:self-service"}
    entry = _crl().get_revoked_certificate_by_serial_number(int(old.serial_hex, 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.superseded
    )


def test_a_card_step_is_refused_where_its_card_action_is(ca: Hierarchy, people: Directory) -> None:
    """Naming a card action opens nothing the policy would not allow for that action."""
    cert = _issue(people)
    with pytest.raises(NotPermitted):
        certificate_issue(
            actor=people.holder,
            person=people.holder,
            csr_pem=make_csr(),
            card_action=Action.CARD_CANCEL,  # an RA Agent's action, never the holder's
        )
    with pytest.raises(NotPermitted):
        certificate_revoke(
            actor=people.outsider,
            certificate=cert,
            reason="unspecified",
            card_action=Action.CARD_REPORT_LOSS,  # the holder's own, not someone else's
        )
    with pytest.raises(NotPermitted):
        certificate_issue(
            actor=people.holder,
            person=people.holder,
            csr_pem=make_csr(),
            card_action=Action.PERSON_VIEW,  # not a card action at all
        )
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID


def test_supersede_checks_the_replacement(ca: Hierarchy, people: Directory) -> None:
    old = _issue(people)
    other = certificate_issue(actor=people.agent, person=people.lsa, csr_pem=make_csr())
    with pytest.raises(ValidationFailed, match="someone else"):
        certificate_supersede(actor=people.agent, certificate=old, replacement=other)
    with pytest.raises(ValidationFailed, match="itself"):
        certificate_supersede(actor=people.agent, certificate=old, replacement=old)


def test_a_failed_revocation_leaves_the_crl_alone(ca: Hierarchy, people: Directory) -> None:
    cert = _issue(people)
    state = CrlState.objects.get(issuer__role="issuing")
    with pytest.raises(RuntimeError), transaction.atomic():
        certificate_revoke(actor=people.agent, certificate=cert, reason="keyCompromise")
        raise RuntimeError("the caller's transaction fails after the revocation")
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID
    assert CrlState.objects.get(issuer__role="issuing").number == state.number
    assert _crl().get_revoked_certificate_by_serial_number(int(cert.serial_hex, 16)) is None


def test_crl_fields(ca: Hierarchy, people: Directory) -> None:
    listed = _crl()
    assert listed.issuer == ca.issuing.certificate.subject
    assert listed.is_signature_valid(ca.issuing.certificate.public_key())
    assert listed.next_update_utc is not None
    assert listed.next_update_utc - listed.last_update_utc <= dt.timedelta(days=7)
    aki = listed.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.key_identifier == ski.value.digest


def test_crl_number_always_increases(ca: Hierarchy, people: Directory) -> None:
    numbers = [_number(_crl())]
    for _ in range(3):
        certificate_revoke(actor=people.agent, certificate=_issue(people), reason="unspecified")
        numbers.append(_number(_crl()))
    numbers.append(crl.crl_publish(force=True).number)
    assert numbers == sorted(set(numbers))
    assert len(numbers) == 5


def test_crl_cadence_daily_and_not_more(ca: Hierarchy, people: Directory) -> None:
    first = crl.current_crl()
    clock.travel(dt.timedelta(hours=23))
    assert crl.crl_publish_if_due().number == first.number  # not yet due: idempotent
    assert crl.current_crl().number == first.number
    clock.travel(dt.timedelta(hours=1))
    due = crl.crl_publish_if_due()
    assert due.number == first.number + 1
    assert due.this_update > first.this_update
    assert due.next_update - due.this_update <= dt.timedelta(days=7)
    # Without any job running, /pki/crl republishes itself when a day has passed.
    clock.travel(dt.timedelta(hours=25))
    assert crl.current_crl().number == first.number + 2
    # Never served past its nextUpdate.
    assert crl.current_crl().next_update > clock.now()


def test_the_root_crl_keeps_the_same_cadence(ca: Hierarchy, people: Directory) -> None:
    first = crl.current_crl("root")
    listed = x509.load_der_x509_crl(first.der)
    assert listed.issuer == ca.root.certificate.subject
    assert listed.is_signature_valid(ca.root.certificate.public_key())
    assert len(listed) == 0  # the root has never revoked an issuing CA
    # A revocation by the issuing CA changes its own CRL, not the root's.
    certificate_revoke(actor=people.agent, certificate=_issue(people), reason="keyCompromise")
    assert crl.current_crl("root").number == first.number
    clock.travel(dt.timedelta(hours=24))
    due = crl.crl_publish_if_due()  # the daily job publishes both
    assert due.number > 0
    again = crl.current_crl("root")
    assert again.number == first.number + 1
    assert again.next_update - again.this_update <= dt.timedelta(days=7)
    # Without the job, /pki/root.crl republishes itself once a day has passed.
    clock.travel(dt.timedelta(hours=25))
    assert crl.current_crl("root").number == first.number + 2
    assert crl.current_crl("root").next_update > clock.now()


def test_expired_entries_leave_the_crl(ca: Hierarchy, people: Directory) -> None:
    short = _issue(people, validity_days=10)
    long = _issue(people)
    certificate_revoke(actor=people.agent, certificate=short, reason="unspecified")
    certificate_revoke(actor=people.agent, certificate=long, reason="unspecified")
    serials = {int(short.serial_hex, 16), int(long.serial_hex, 16)}
    assert {e.serial_number for e in _crl()} == serials
    clock.travel(dt.timedelta(days=9))
    assert {e.serial_number for e in x509.load_der_x509_crl(crl.crl_publish().der)} == serials
    clock.travel(dt.timedelta(days=2))  # short has expired: its entry may go
    after = x509.load_der_x509_crl(crl.crl_publish().der)
    assert {e.serial_number for e in after} == {int(long.serial_hex, 16)}
    assert CrlState.objects.get(issuer__role="issuing").entries == 1


def test_expired_status_is_computed(ca: Hierarchy, people: Directory) -> None:
    cert = _issue(people, validity_days=1)
    assert cert.effective_status(clock.now()) == "valid"
    clock.travel(dt.timedelta(days=2))
    assert cert.effective_status(clock.now()) == "expired"
    assert cert.status == CertificateStatus.VALID


def test_revocations_wait_for_one_publication_and_ocsp_knows_at_once(
    ca: Hierarchy, people: Directory
) -> None:
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.x509 import ocsp  # noqa: PLC0415

    from cis.pki import ocsp as responder  # noqa: PLC0415

    certs = [_issue(people) for _ in range(5)]
    before = CrlState.objects.get(issuer__role="issuing").number
    sha1 = hashes.SHA1()  # noqa: S303 - RFC 5019 CertIDs
    for cert in certs:
        certificate_revoke(actor=people.agent, certificate=cert, reason="keyCompromise")
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(
                x509.load_der_x509_certificate(bytes(cert.der)), ca.issuing.certificate, sha1
            )
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        answer = ocsp.load_der_ocsp_response(responder.respond(request).der)
        assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED  # at once
    # No CRL was built per revocation ...
    assert CrlState.objects.get(issuer__role="issuing").number == before
    # ... and the next one served lists every one of them, published once.
    listed = _crl()
    assert {int(c.serial_hex, 16) for c in certs} <= {e.serial_number for e in listed}
    assert _number(listed) == before + 1
    assert _number(_crl()) == before + 1  # nothing pending: served as stored
