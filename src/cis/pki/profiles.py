"""The certificate profiles: what each kind of certificate CIS signs contains, and nothing more."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from django.conf import settings

from .keystore import KeyAlgorithm, SigningKey

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
CN_MAX = 64  # ub-common-name (RFC 5280 Appendix A)


@dataclass(frozen=True)
class Issuer:
    """What a profile needs of the signing CA: its name, key, and key identifier."""

    name: x509.Name
    key: SigningKey
    certificate: x509.Certificate | None = None  # None while the root signs itself

    @property
    def key_identifier(self) -> x509.AuthorityKeyIdentifier:
        if self.certificate is not None:
            ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())

    @property
    def algorithm(self) -> KeyAlgorithm:
        return KeyAlgorithm.of(self.key)


def pki_url(path: str) -> str:
    return f"{settings.CIS_PKI_BASE_URL}/pki/{path}"


def _cn(value: str) -> str:
    cleaned = " ".join(value.split())
    return cleaned[:CN_MAX].rstrip() or "unnamed"


def authority_name(role_title: str) -> x509.Name:
    organisation = settings.CIS_CA_ORGANISATION[:CN_MAX]
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, _cn(f"{organisation} {role_title}")),
        ]
    )


def person_name(*, full_name: str, user_id: str) -> x509.Name:
    """Subject from the directory: the person's name and their 12-digit user id."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.CIS_CA_ORGANISATION[:CN_MAX]),
            x509.NameAttribute(NameOID.COMMON_NAME, _cn(full_name)),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, user_id),
        ]
    )


def _whole_seconds(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(microsecond=0)


def _base(
    *,
    issuer: Issuer,
    subject: x509.Name,
    public_key: PublicKey,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .issuer_name(issuer.name)
        .subject_name(subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(_whole_seconds(not_before))
        .not_valid_after(_whole_seconds(not_after))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _crl_distribution_point(path: str) -> x509.CRLDistributionPoints:
    """Where the CRL that covers a certificate is published, under /pki/."""
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(pki_url(path))],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def root_certificate(
    *, key: SigningKey, serial: int, not_before: dt.datetime, not_after: dt.datetime
) -> x509.Certificate:
    name = authority_name("Root CA")
    issuer = Issuer(name=name, key=key)
    builder = (
        _base(
            issuer=issuer,
            subject=name,
            public_key=key.public_key(),
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
    )
    return builder.sign(key, issuer.algorithm.signature_hash())


def issuing_certificate(
    *,
    issuer: Issuer,
    public_key: PublicKey,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    builder = (
        _base(
            issuer=issuer,
            subject=authority_name("Issuing CA"),
            public_key=public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(issuer.key_identifier, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(_crl_distribution_point("root.crl"), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(pki_url("root-ca.cer")),
                    )
                ]
            ),
            critical=False,
        )
    )
    return builder.sign(issuer.key, issuer.algorithm.signature_hash())


def ocsp_signer_certificate(
    *,
    issuer: Issuer,
    public_key: PublicKey,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    """A delegated responder (RFC 6960 §4.2.2.2): id-kp-OCSPSigning, and no check of itself."""
    builder = (
        _base(
            issuer=issuer,
            subject=authority_name("OCSP Responder"),
            public_key=public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(issuer.key_identifier, critical=False)
        .add_extension(_signing_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
    )
    return builder.sign(issuer.key, issuer.algorithm.signature_hash())


def smartcard_certificate(
    *,
    issuer: Issuer,
    subject: x509.Name,
    public_key: PublicKey,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    """A holder's authentication certificate: digitalSignature, clientAuth, CRL and OCSP URLs."""
    builder = (
        _base(
            issuer=issuer,
            subject=subject,
            public_key=public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(issuer.key_identifier, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_crl_distribution_point("crl"), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(pki_url("ocsp")),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(pki_url("issuing-ca.cer")),
                    ),
                ]
            ),
            critical=False,
        )
    )
    return builder.sign(issuer.key, issuer.algorithm.signature_hash())
