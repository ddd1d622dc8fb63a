"""Reads about certificates through the policy's visible() filter, and the CA's public files."""

from __future__ import annotations

import datetime as dt
import re

from cryptography.hazmat.primitives import serialization
from django.db.models import Q, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scoping import visible
from cis.core import clock
from cis.core.errors import InvalidState, NotFound, NotPermitted, ValidationFailed
from cis.people.models import Person

from . import authority
from .models import AuthorityRole, Certificate, CertificateAuthority
from .states import EXPIRED, CertificateStatus

_HEX_RE = re.compile(r"^[0-9a-f]{1,40}$")


def normalise_serial(value: str) -> str:
    """A serial as typed (0x..., colons, upper case, leading zeros) in its stored form."""
    cleaned = re.sub(r"[\s:]", "", value.strip().lower()).removeprefix("0x")
    if not _HEX_RE.fullmatch(cleaned):
        raise ValidationFailed(
            f"'{value}' is not a certificate serial number in hex.", field="serial"
        )
    number = int(cleaned, 16)
    length = max(1, (number.bit_length() + 7) // 8)
    return number.to_bytes(length, "big").hex()


def _by_status(certs: QuerySet[Certificate], status: str, at: dt.datetime) -> QuerySet[Certificate]:
    if status == EXPIRED:
        return certs.filter(status=CertificateStatus.VALID, not_after__lt=at)
    if status == CertificateStatus.VALID:
        return certs.filter(status=CertificateStatus.VALID, not_after__gte=at)
    if status in CertificateStatus.values:
        return certs.filter(status=status)
    raise ValidationFailed(
        f"'{status}' is not a certificate status: use valid, expired, revoked or superseded.",
        field="status",
    )


def certificate_search(
    *,
    actor: Actor,
    query: str = "",
    status: str = "",
    person: Person | None = None,
    expiring_within_days: int | None = None,
) -> QuerySet[Certificate]:
    """Certificates the actor may see, by serial, holder name or user id, status and expiry."""
    certs = visible(actor, Action.CERTIFICATE_VIEW, Certificate.objects.all())
    now = clock.now()
    if person is not None:
        certs = certs.filter(person=person)
    for term in query.split():
        q = (
            Q(person__given_name__icontains=term)
            | Q(person__family_name__icontains=term)
            | Q(person__user_id__startswith=term)
        )
        try:
            q |= Q(serial_hex=normalise_serial(term))
        except ValidationFailed:
            pass
        certs = certs.filter(q)
    if status:
        certs = _by_status(certs, status, now)
    if expiring_within_days is not None:
        certs = certs.filter(
            status=CertificateStatus.VALID,
            not_after__gte=now,
            not_after__lte=now + dt.timedelta(days=expiring_within_days),
        )
    return certs.select_related("person", "superseded_by").order_by("-not_before", "-id")


def certificate_get(*, actor: Actor, serial: str) -> Certificate:
    """One certificate, if the actor may see it; otherwise 'not found', so nothing leaks.

    A serial that is not hex names no certificate: 'not found' too (it comes from a path).
    """
    try:
        serial_hex = normalise_serial(serial)
    except ValidationFailed:
        raise NotFound("No such certificate, or not one you can see.") from None
    cert = (
        Certificate.objects.select_related("person", "issuer", "superseded_by")
        .filter(serial_hex=serial_hex)
        .first()
    )
    if cert is None:
        raise NotFound("No such certificate, or not one you can see.")
    try:
        require(actor, Action.CERTIFICATE_VIEW, cert)
    except NotPermitted:
        raise NotFound("No such certificate, or not one you can see.") from None
    return cert


def certificates_of(*, actor: Actor, person: Person) -> QuerySet[Certificate]:
    """A person's certificates, newest first, for their page (self-service or in scope)."""
    require(actor, Action.CERTIFICATE_VIEW, person)
    return (
        Certificate.objects.filter(person=person)
        .select_related("superseded_by")
        .order_by("-not_before", "-id")
    )


def _active(role: str) -> CertificateAuthority:
    row = authority.active_row(role)
    if row is None:
        raise InvalidState(authority.NOT_SET_UP)
    return row


def issuing_certificate_der() -> bytes:
    return bytes(_active(AuthorityRole.ISSUING).der)


def root_certificate_der() -> bytes:
    return bytes(_active(AuthorityRole.ROOT).der)


def chain_pem() -> bytes:
    """The issuing CA then the root, PEM, as relying parties and `cis ca chain` want them."""
    from cryptography import x509  # noqa: PLC0415

    parts = []
    for role in (AuthorityRole.ISSUING, AuthorityRole.ROOT):
        cert = x509.load_der_x509_certificate(bytes(_active(role).der))
        parts.append(cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(parts)
