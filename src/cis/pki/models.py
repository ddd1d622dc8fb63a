"""The CA's records: its certificates (never its keys), issued certificates and CRL state."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import models
from django.db.models import Q

from cis.core.models import TimestampedModel

from .states import EXPIRED, STATUS_LABELS, CertificateStatus, RevocationReason


def serial_to_hex(serial: int) -> str:
    """Lower-case hex of a serial, an even number of digits, as it appears in DER."""
    length = max(1, (serial.bit_length() + 7) // 8)
    return serial.to_bytes(length, "big").hex()


class AuthorityRole(models.TextChoices):
    ROOT = "root", "Root CA"
    ISSUING = "issuing", "Issuing CA"
    OCSP = "ocsp", "OCSP responder"


class CertificateAuthority(TimestampedModel):
    """A CA or OCSP-responder certificate and a reference to its key in the key store."""

    role = models.CharField(max_length=8, choices=AuthorityRole.choices)
    subject = models.CharField(max_length=300)
    serial_hex = models.CharField(max_length=40)
    der = models.BinaryField()
    key_store = models.CharField(max_length=16)
    key_label = models.CharField(max_length=100)
    key_algorithm = models.CharField(max_length=16)
    issuer = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="subordinates"
    )
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    active = models.BooleanField(default=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role", "-not_before"]
        constraints = [
            models.UniqueConstraint(
                fields=["role"], condition=Q(active=True), name="pki_one_active_authority_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.subject} ({self.serial_hex})"

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(bytes(self.der))

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


class Certificate(TimestampedModel):
    """A smartcard authentication certificate issued by the CIS issuing CA."""

    issuer = models.ForeignKey(CertificateAuthority, on_delete=models.PROTECT, related_name="+")
    serial_hex = models.CharField(max_length=40)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certificates"
    )
    # The card the certificate was written to; the smartcards app links it properly.
    card_ref = models.CharField(max_length=64, null=True, blank=True)
    subject = models.CharField(max_length=500)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField(db_index=True)
    status = models.CharField(
        max_length=12, choices=CertificateStatus.choices, default=CertificateStatus.VALID
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(
        max_length=32, choices=RevocationReason.choices, blank=True
    )
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )
    key_algorithm = models.CharField(max_length=16)
    spki_sha256 = models.CharField(max_length=64, db_index=True)
    issued_by_ref = models.CharField(max_length=64, blank=True)
    der = models.BinaryField()

    class Meta:
        ordering = ["-not_before", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "serial_hex"], name="pki_unique_serial"),
            models.CheckConstraint(
                condition=Q(status=CertificateStatus.VALID, revoked_at__isnull=True)
                | (~Q(status=CertificateStatus.VALID) & Q(revoked_at__isnull=False)),
                name="pki_revoked_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["serial_hex"], name="pki_cert_serial_idx"),
            models.Index(fields=["issuer", "status", "not_after"], name="pki_cert_crl_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.serial_hex})"

    @property
    def pem(self) -> str:
        cert = x509.load_der_x509_certificate(bytes(self.der))
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def effective_status(self, at: dt.datetime) -> str:
        """valid, revoked, superseded, or expired (a valid certificate past its notAfter)."""
        if self.status == CertificateStatus.VALID and self.not_after < at:
            return EXPIRED
        return str(self.status)

    def effective_status_label(self, at: dt.datetime) -> str:
        return STATUS_LABELS[self.effective_status(at)]


class CrlState(models.Model):
    """The issuing CA's current CRL and its number, which only ever goes up."""

    issuer = models.OneToOneField(
        CertificateAuthority, on_delete=models.PROTECT, related_name="crl_state"
    )
    number = models.BigIntegerField(default=0)
    this_update = models.DateTimeField(null=True, blank=True)
    next_update = models.DateTimeField(null=True, blank=True)
    entries = models.PositiveIntegerField(default=0)
    der = models.BinaryField(null=True, blank=True)

    def __str__(self) -> str:
        return f"CRL #{self.number} of {self.issuer.subject}"


class CrlPending(models.Model):
    """A revocation the published CRL does not list yet: one row per revocation, added in the
    revocation's own transaction (an insert, so concurrent revocations never wait on each
    other), and removed by the publication that lists it. Publishing is due while any remain."""

    issuer = models.ForeignKey(CertificateAuthority, on_delete=models.PROTECT, related_name="+")
    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"CRL entry pending for certificate {self.certificate_id}"


class OcspResponse(models.Model):
    """A signed OCSP answer kept for every worker and machine: signed ahead of time by the
    `presign-ocsp` job, or by whichever worker first needed it. Served only while the
    certificate's status, the responder and the CA are the ones it was signed for, and until
    its refresh time (cis.pki.ocsp_store)."""

    issuer = models.ForeignKey(CertificateAuthority, on_delete=models.CASCADE, related_name="+")
    serial_hex = models.CharField(max_length=40)
    hash_name = models.CharField(max_length=8)  # the CertID's hash: sha1 from most clients
    fingerprint = models.CharField(max_length=200)
    der = models.BinaryField()
    this_update = models.DateTimeField()
    next_update = models.DateTimeField()
    refresh_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "serial_hex", "hash_name"], name="pki_ocsp_one_per_certid"
            )
        ]

    def __str__(self) -> str:
        return f"OCSP response for {self.serial_hex} ({self.hash_name})"
