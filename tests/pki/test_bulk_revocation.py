"""Revoking a compromised batch at once: each certificate decided by the policy and audited on
its own; one refusal and nothing changes; OCSP says "revoked" at once; the next CRL lists all."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509 import ocsp
from django.core.management import call_command
from django.core.management.base import CommandError

from cis.audit.models import AuditEvent
from cis.authz.actions import Action
from cis.core.errors import InvalidState, NotFound, NotPermitted, ValidationFailed
from cis.pki import crl
from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate, CrlState
from cis.pki.ocsp_presign import presign
from cis.pki.services import certificates_revoke
from cis.pki.states import CertificateStatus, RevocationReason
from cis.signin.constants import ACR_AAL3, AMR_SMARTCARD
from cis.signin.models import SignInMethod
from cis.signin.services import session_start

from .conftest import Directory, issue_for, ocsp_status

pytestmark = pytest.mark.django_db


def test_a_batch_is_revoked_each_audited_ocsp_at_once_crl_next(
    ca: Hierarchy, people: Directory
) -> None:
    certs = [issue_for(people) for _ in range(4)]
    presign()  # their "good" answers are stored, as the scheduled job keeps them
    assert all(ocsp_status(ca, cert) == ocsp.OCSPCertStatus.GOOD for cert in certs)
    number = int(certs[0].serial_hex, 16)
    session = session_start(
        person=people.holder,
        method=SignInMethod.SMARTCARD,
        acr=ACR_AAL3,
        amr=list(AMR_SMARTCARD),
        certificate_serial=number.to_bytes((number.bit_length() + 7) // 8, "big").hex(),
    )
    before = CrlState.objects.get(issuer__role="issuing").number

    revoked = certificates_revoke(
        actor=people.agent,
        serials=[c.serial_hex.upper() for c in certs] + [certs[0].serial_hex],  # repeats once
        reason="keyCompromise",
    )

    assert [c.serial_hex for c in revoked] == [c.serial_hex for c in certs]
    for cert in certs:
        cert.refresh_from_db()
        assert cert.status == CertificateStatus.REVOKED
        assert cert.revocation_reason == RevocationReason.KEY_COMPROMISE
        assert ocsp_status(ca, cert) == ocsp.OCSPCertStatus.REVOKED  # at once, from storage
    events = AuditEvent.objects.filter(action=Action.CERTIFICATE_REVOKE)
    assert sorted(events.values_list("target_ref", flat=True)) == sorted(
        c.serial_hex for c in certs
    )
    assert set(events.values_list("actor_ref", flat=True)) == {people.agent.user_id}
    assert all(e.rule and e.after["status"] == "revoked" for e in events)
    session.refresh_from_db()
    assert session.ended_at is not None  # a revoked certificate signs nobody in
    assert CrlState.objects.get(issuer__role="issuing").number == before  # no CRL per batch
    listed = x509.load_der_x509_crl(crl.current_crl().der)
    assert {int(c.serial_hex, 16) for c in certs} <= {e.serial_number for e in listed}


@pytest.mark.parametrize(
    ("which", "error"),
    [
        ("outsider", NotFound),  # out of the agent's scope: not found, as for one
        ("unknown", NotFound),
        ("revoked", InvalidState),
        ("self", NotPermitted),  # nobody revokes their own certificate
    ],
)
def test_one_refusal_and_nothing_changes(
    ca: Hierarchy, people: Directory, which: str, error: type[Exception]
) -> None:
    mine = [issue_for(people) for _ in range(3)]
    odd = {
        "outsider": lambda: issue_for(people, people.outsider).serial_hex,
        "unknown": lambda: "7f" + "00" * 19,
        "revoked": lambda: (
            certificates_revoke(
                actor=people.agent, serials=[issue_for(people).serial_hex], reason="unspecified"
            )[0].serial_hex
        ),
        "self": lambda: issue_for(people, people.agent).serial_hex,
    }[which]()
    events = AuditEvent.objects.filter(action=Action.CERTIFICATE_REVOKE).count()
    pending = CrlState.objects.get(issuer__role="issuing").number
    with pytest.raises(error):
        certificates_revoke(
            actor=people.agent, serials=[*(c.serial_hex for c in mine), odd], reason="unspecified"
        )
    for cert in mine:
        cert.refresh_from_db()
        assert cert.status == CertificateStatus.VALID
        assert ocsp_status(ca, cert) == ocsp.OCSPCertStatus.GOOD
    assert AuditEvent.objects.filter(action=Action.CERTIFICATE_REVOKE).count() == events
    listed = x509.load_der_x509_crl(crl.current_crl().der)
    assert not {int(c.serial_hex, 16) for c in mine} & {e.serial_number for e in listed}
    assert CrlState.objects.get(issuer__role="issuing").number >= pending


def test_an_lsa_may_not_revoke_in_bulk(ca: Hierarchy, people: Directory) -> None:
    cert = issue_for(people)
    with pytest.raises((NotPermitted, NotFound)):
        certificates_revoke(actor=people.lsa, serials=[cert.serial_hex], reason="unspecified")
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID


def test_limits_and_reasons(ca: Hierarchy, people: Directory) -> None:
    cert = issue_for(people)
    for serials, reason in (
        ([], "unspecified"),
        ([f"{n:x}" for n in range(1, 1002)], "unspecified"),  # over the limit
        ([cert.serial_hex], "superseded"),
        ([cert.serial_hex], "certificateHold"),
    ):
        with pytest.raises(ValidationFailed):
            certificates_revoke(actor=people.agent, serials=serials, reason=reason)
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID


def test_cis_ca_revoke_a_file_of_serials(ca: Hierarchy, people: Directory, tmp_path: Path) -> None:
    certs = [issue_for(people) for _ in range(3)]
    listing = tmp_path / "serials.txt"
    listing.write_text("\n".join(c.serial_hex for c in certs) + "\n\n")
    call_command("ca", "revoke", "--serials-file", str(listing), "--reason", "keyCompromise")
    assert set(
        Certificate.objects.filter(pk__in=[c.pk for c in certs]).values_list("status", flat=True)
    ) == {CertificateStatus.REVOKED}
    again = tmp_path / "again.txt"
    again.write_text(f"{issue_for(people).serial_hex}\n{certs[0].serial_hex}\n")
    with pytest.raises(CommandError, match="already revoked"):
        call_command("ca", "revoke", "--serials-file", str(again), "--reason", "keyCompromise")
    assert Certificate.objects.filter(status=CertificateStatus.VALID).count() == 1
