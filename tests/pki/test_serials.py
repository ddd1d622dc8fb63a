"""Serial numbers: 10,000 without a repeat, each positive, >= 64 random bits, <= 20 octets."""

from __future__ import annotations

import pytest
from cryptography import x509

from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate, serial_to_hex
from cis.pki.serials import new_serial
from cis.pki.services import certificate_issue

from .conftest import Directory, make_csr, new_key


def _der_octets(serial: int) -> int:
    """How many content octets the DER INTEGER takes (a leading 0 if the top bit is set)."""
    return serial.bit_length() // 8 + 1


def test_ten_thousand_serials_never_repeat() -> None:
    serials = [new_serial() for _ in range(10_000)]
    assert len(set(serials)) == 10_000
    for serial in serials:
        assert serial > 0
        assert serial >= 1 << 64
        assert _der_octets(serial) <= 20
    # The bits really vary: every one of the low 152 bit positions is set somewhere.
    combined = 0
    for serial in serials:
        combined |= serial
    assert combined.bit_length() == 159
    assert bin(combined).count("1") == 159


def test_hex_form_round_trips() -> None:
    for serial in (1 << 64, (1 << 159) - 1, 0x00FF, new_serial()):
        text = serial_to_hex(serial)
        assert len(text) % 2 == 0
        assert int(text, 16) == serial


@pytest.mark.django_db
def test_full_issuance_loop_has_no_repeated_serials(ca: Hierarchy, people: Directory) -> None:
    """Through the whole service (database, audit, CRL-ready records): 300 certificates."""
    key = new_key()
    count = 300
    for _ in range(count):
        # The same key for one holder is allowed; only serials matter here.
        certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr(key))
    serials = list(Certificate.objects.values_list("serial_hex", flat=True))
    assert len(serials) == count
    assert len(set(serials)) == count
    for row in Certificate.objects.all()[:20]:
        assert x509.load_der_x509_certificate(bytes(row.der)).serial_number == int(
            row.serial_hex, 16
        )
