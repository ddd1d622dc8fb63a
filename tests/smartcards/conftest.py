"""Card records for service, policy, API and portal tests, without a card in a reader.

The agent's tests drive real cards; these tests are about the server's rules, so a card here is
its database rows plus a certificate for a software key held by the test (what a card would
hold), which lets a test sign a renewal proof or a sign-in challenge the way a card would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.cache import cache

from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.people.models import Person, PersonStatus
from cis.pki import hierarchy
from cis.pki.services import certificate_issue
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.services.common import new_so_pin, seal_so_pin
from cis.smartcards.states import CardStatus


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture
def ca(db: None) -> hierarchy.Hierarchy:
    return hierarchy.ca_init()


def csr_for(key: ec.EllipticCurvePrivateKey) -> bytes:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "card")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


@dataclass
class CardInHand:
    row: Smartcard
    key: ec.EllipticCurvePrivateKey
    so_pin: str
    link: CardCertificate

    @property
    def certificate_der(self) -> bytes:
        return bytes(self.link.certificate.der)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


_serials = iter(range(1, 10**6))


@pytest.fixture
def active_card(ca: hierarchy.Hierarchy) -> Callable[..., CardInHand]:
    def make(holder: Person, status: str = CardStatus.ACTIVE) -> CardInHand:
        key = ec.generate_private_key(ec.SECP256R1())
        row = Smartcard(
            chip_serial=f"TEST{next(_serials):08d}",
            holder=holder,
            status=status,
            issued_at=clock.now(),
            activated_at=clock.now(),
        )
        pin = new_so_pin()
        row.so_pin_sealed = seal_so_pin(row, pin)
        row.save()
        closed = holder.status == PersonStatus.CLOSED
        if closed:  # a card issued before the profile was closed
            Person.objects.filter(pk=holder.pk).update(status=PersonStatus.ACTIVE)
        cert = certificate_issue(actor=CONSOLE, person=holder, csr_pem=csr_for(key))
        if closed:
            Person.objects.filter(pk=holder.pk).update(status=PersonStatus.CLOSED)
        link = CardCertificate.objects.create(card=row, certificate=cert, installed_at=clock.now())
        return CardInHand(row=row, key=key, so_pin=pin, link=link)

    return make
