"""The CA's fixtures: a fresh CA per test, a small directory, CSRs, and pkilint on every output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import NameOID

from cis.audit.chain import GENESIS
from cis.audit.models import AuditHead
from cis.authz.policy import CONSOLE
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people.models import Person
from cis.pki import authority, crl, hierarchy, ocsp, profiles
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue
from cis.rights.models import Right
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

from . import hsm, lint

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@pytest.fixture(autouse=True)
def _audit_head(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table, including the audit head row migration 0002 made."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in (
        request.fixturenames
    )
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        transactional = True
    if transactional:
        request.getfixturevalue("transactional_db")
        AuditHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS})


@pytest.fixture(autouse=True)
def _forget_the_ca() -> Iterator[None]:
    # Stored OCSP answers live in the test's database, which goes with the test.
    authority.forget_current()
    yield
    authority.forget_current()


@pytest.fixture(autouse=True)
def produced(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[bytes]]]:
    """Collect every certificate, CRL and OCSP response the CA makes; lint them all at the end."""
    made: dict[str, list[bytes]] = {"cert": [], "crl": [], "ocsp": []}

    def certs(builder: Callable[..., x509.Certificate]) -> Callable[..., x509.Certificate]:
        def wrapped(**kwargs: Any) -> x509.Certificate:
            cert = builder(**kwargs)
            made["cert"].append(cert.public_bytes(serialization.Encoding.DER))
            return cert

        return wrapped

    for name in (
        "root_certificate",
        "issuing_certificate",
        "ocsp_signer_certificate",
        "smartcard_certificate",
    ):
        monkeypatch.setattr(profiles, name, certs(getattr(profiles, name)))

    build_crl = crl.build_crl

    def crl_wrapped(*args: Any, **kwargs: Any) -> bytes:
        der = build_crl(*args, **kwargs)
        made["crl"].append(der)
        return der

    monkeypatch.setattr(crl, "build_crl", crl_wrapped)
    respond = ocsp.respond

    def respond_wrapped(request_der: bytes) -> ocsp.OcspAnswer:
        answer = respond(request_der)
        made["ocsp"].append(answer.der)
        return answer

    monkeypatch.setattr(ocsp, "respond", respond_wrapped)
    yield made
    problems = []
    for kind, documents in made.items():
        for der in dict.fromkeys(documents):  # each distinct document once
            report = lint.findings(kind, der)
            if report:
                problems.append(f"{lint.COMMANDS[kind]}:\n{report}")
    assert not problems, "pkilint findings:\n" + "\n".join(problems)


@pytest.fixture
def ca(db: None) -> hierarchy.Hierarchy:
    return hierarchy.ca_init()


@dataclass
class Directory:
    ra: RegistrationAuthority
    org: Organisation
    elsewhere: Organisation
    agent: Person  # RA Agent for the RA that serves org
    lsa: Person  # LSA at org
    holder: Person  # works at org
    outsider: Person  # works elsewhere, another RA


@pytest.fixture
def people(db: None) -> Directory:
    ra = RegistrationAuthorityFactory(code="RA-PKI", name="PKI RA")
    other_ra = RegistrationAuthorityFactory(code="RA-OTH", name="Other RA")
    org = OrganisationFactory(ods_code="FPK01", name="Pharmacy PKI", serving_ra=ra)
    elsewhere = OrganisationFactory(ods_code="FEL02", name="Elsewhere", serving_ra=other_ra)
    post = PositionFactory(organisation=org, name="Pharmacist")
    far_post = PositionFactory(organisation=elsewhere, name="Pharmacist")

    def staff(given: str, family: str, position: Any = post) -> Person:
        person: Person = PersonFactory(given_name=given, family_name=family, registered_ra=ra)
        AssignmentFactory(person=person, position=position)
        return person

    agent = staff("Agnes", "Agent")
    RightGrantFactory(person=agent, right=Right.RA_AGENT, ra=ra)
    lsa = staff("Lisa", "Local")
    RightGrantFactory(person=lsa, right=Right.LSA, organisation=org)
    holder = staff("Harriet", "Holder")
    outsider: Person = PersonFactory(
        given_name="Olly", family_name="Outsider", registered_ra=other_ra
    )
    AssignmentFactory(person=outsider, position=far_post)
    return Directory(ra, org, elsewhere, agent, lsa, holder, outsider)


def new_key(kind: str = "ec-p256") -> PrivateKey:
    if kind.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    curves: dict[str, ec.EllipticCurve] = {
        "ec-p256": ec.SECP256R1(),
        "ec-p384": ec.SECP384R1(),
        "ec-p521": ec.SECP521R1(),
        "ec-k256": ec.SECP256K1(),
    }
    return ec.generate_private_key(curves[kind])


def make_csr(key: PrivateKey | None = None, *, cn: str = "Someone Else", ca: bool = False) -> bytes:
    """A CSR as a card would make it; its subject and extensions are what CIS must ignore."""
    key = key or new_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not hsm.available():
        pytest.skip("SoftHSM2 is not installed (make system-deps installs it)")
    hsm.ensure_config(tmp_path_factory.mktemp("softhsm-ca"))


@pytest.fixture
def token(softhsm: None) -> hsm.Token:
    return hsm.new_token()


@pytest.fixture
def hsm_settings(token: hsm.Token, settings: Any) -> hsm.Token:
    settings.CIS_CA_KEY_STORE = "pkcs11"
    settings.CIS_CA_PKCS11_MODULE = token.module
    settings.CIS_CA_PKCS11_TOKEN_LABEL = token.label
    settings.CIS_CA_PKCS11_PIN = token.pin
    return token


def issue_for(people: Directory, person: Person | None = None) -> Certificate:
    """A certificate for the holder (issued by the RA Agent), or for anyone (by the CA operator)."""
    return certificate_issue(
        actor=people.agent if person is None else CONSOLE,
        person=person or people.holder,
        csr_pem=make_csr(),
    )


def ocsp_status(ca: hierarchy.Hierarchy, cert: Certificate) -> x509_ocsp.OCSPCertStatus:
    """What the responder says of a certificate, asked in-process as an RFC 5019 client asks."""
    request = (
        x509_ocsp.OCSPRequestBuilder()
        .add_certificate(
            x509.load_der_x509_certificate(bytes(cert.der)),
            ca.issuing.certificate,
            hashes.SHA1(),  # noqa: S303 - RFC 5019 CertIDs
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    return x509_ocsp.load_der_ocsp_response(ocsp.respond(request).der).certificate_status
