"""`cis ca init|issue|revoke|crl|chain|status`, as an operator runs them."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from cryptography import x509
from django.core.management import CommandError, call_command

from cis.audit.models import AuditEvent
from cis.pki.models import Certificate, CertificateAuthority
from cis.pki.states import CertificateStatus

from .conftest import Directory, make_csr

pytestmark = pytest.mark.django_db


def _ca(*args: str) -> str:
    out = io.StringIO()
    call_command("ca", *args, stdout=out)
    return out.getvalue()


def test_init_is_idempotent() -> None:
    first = _ca("init")
    assert first.startswith("Created")
    serials = set(CertificateAuthority.objects.values_list("serial_hex", flat=True))
    second = _ca("init")
    assert second.startswith("Already set up")
    assert set(CertificateAuthority.objects.values_list("serial_hex", flat=True)) == serials
    assert AuditEvent.objects.filter(action="pki.ca_create").count() == 2


def test_issue_revoke_crl_chain(people: Directory, tmp_path: Path) -> None:
    _ca("init")
    csr = tmp_path / "card.csr"
    csr.write_bytes(make_csr())
    out = tmp_path / "card.pem"
    message = _ca("issue", "--csr", str(csr), "--person", people.holder.user_id, "--out", str(out))
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    row = Certificate.objects.get()
    assert int(row.serial_hex, 16) == cert.serial_number
    assert row.serial_hex in message

    printed = _ca("issue", "--csr", str(csr), "--person", people.holder.user_id, "--days", "30")
    assert printed.startswith("-----BEGIN CERTIFICATE-----")

    serial = f"0x{row.serial_hex.upper()}"
    said = _ca("revoke", "--serial", serial, "--reason", "keyCompromise")
    assert "Revoked" in said
    row.refresh_from_db()
    assert row.status == CertificateStatus.REVOKED

    crl_file = tmp_path / "cis.crl"
    _ca("crl", "--out", str(crl_file))
    listed = x509.load_der_x509_crl(crl_file.read_bytes())
    assert listed.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    assert "CRL #" in _ca("crl")
    assert _ca("crl", "--out", "-", "--pem").startswith("-----BEGIN X509 CRL-----")
    root_file = tmp_path / "root.crl"
    assert "Root CA CRL #" in _ca("crl", "--root", "--force", "--out", str(root_file))
    root_crl = x509.load_der_x509_crl(root_file.read_bytes())
    assert root_crl.issuer.rfc4514_string() == (
        "CN=Care Identity Service Root CA,O=Care Identity Service,C=GB"
    )

    chain_file = tmp_path / "chain.pem"
    _ca("chain", "--out", str(chain_file))
    chain = x509.load_pem_x509_certificates(chain_file.read_bytes())
    assert [c.subject.rfc4514_string() for c in chain] == [
        "CN=Care Identity Service Issuing CA,O=Care Identity Service,C=GB",
        "CN=Care Identity Service Root CA,O=Care Identity Service,C=GB",
    ]
    status = _ca("status")
    assert "Issuing CA" in status
    assert "root CRL #" in status


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revoke", "--serial", "abcd", "--reason", "keyCompromise"], "never issued"),
        (["revoke", "--serial", "xyz", "--reason", "keyCompromise"], "not a certificate serial"),
        (["issue", "--csr", "/nonexistent.csr", "--person", "555000000001"], "Cannot read"),
        (["crl", "--out", "-"], "binary"),
    ],
)
def test_bad_input_is_a_one_line_reason(args: list[str], message: str) -> None:
    _ca("init")
    with pytest.raises(CommandError, match=message):
        _ca(*args)


def test_revoke_refuses_certificate_hold(people: Directory, tmp_path: Path) -> None:
    _ca("init")
    csr = tmp_path / "card.csr"
    csr.write_bytes(make_csr())
    _ca("issue", "--csr", str(csr), "--person", people.holder.user_id, "--out", str(tmp_path / "c"))
    serial = Certificate.objects.get().serial_hex
    with pytest.raises(CommandError, match="never suspends"):
        _ca("revoke", "--serial", serial, "--reason", "certificateHold")


def test_unknown_person_and_no_ca(people: Directory, tmp_path: Path) -> None:
    csr = tmp_path / "card.csr"
    csr.write_bytes(make_csr())
    with pytest.raises(CommandError, match="cis ca init"):
        _ca("issue", "--csr", str(csr), "--person", people.holder.user_id)
    _ca("init")
    with pytest.raises(CommandError, match="No person"):
        _ca("issue", "--csr", str(csr), "--person", "000000000000")


def test_the_scheduled_job_reports_what_it_did() -> None:
    from cis.core import clock  # noqa: PLC0415
    from cis.pki.jobs import publish_crl  # noqa: PLC0415

    assert publish_crl().startswith("skipped: the CA is not set up")
    _ca("init")
    assert publish_crl().startswith("CRL #1 ")
    clock.travel(dt.timedelta(hours=25))
    assert publish_crl().startswith("CRL #2 ")
