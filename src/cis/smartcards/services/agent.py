"""Signing the workstation agent in with a card: a signed challenge buys a short-lived token.

The agent's API calls carry `Authorization: Bearer <token>`. A token is bound to the card and
certificate that signed for it, lasts CIS_AGENT_TOKEN_MINUTES (30 by default), is stored only
as a SHA-256 digest, and ends at once when the card is cancelled or cleared. Sign-in for people
in browsers and clinical systems is a separate matter (OpenID Connect).
"""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction

from cis.audit import refusals
from cis.audit.trail import record
from cis.authz.actions import Action
from cis.core import clock
from cis.core.digests import secret_digest
from cis.core.errors import InvalidState, NotPermitted, ValidationFailed
from cis.people.models import Person, PersonStatus
from cis.pki.models import Certificate, serial_to_hex
from cis.pki.states import CertificateStatus
from cis_wire.messages import login_message
from cis_wire.signatures import verify_signature

from .. import conf
from ..models import AgentChallenge, AgentToken, CardCertificate
from ..states import CardStatus
from .common import ended_message, organisation_ref
from .operations import install_proven

CHALLENGE_LIFETIME = dt.timedelta(minutes=2)
RULE = "signed-with-smartcard"
REFUSED = (
    "The card's signature does not match the certificate it presents; check the card is in the "
    "reader and try again."
)


def agent_challenge_create() -> AgentChallenge:
    now = clock.now()
    AgentChallenge.objects.filter(expires_at__lt=now - dt.timedelta(hours=1)).delete()
    return AgentChallenge.objects.create(
        value=secrets.token_hex(32), created_at=now, expires_at=now + CHALLENGE_LIFETIME
    )


@refusals.records_failed_sign_ins("agent")
def agent_sign_in(
    *, chip_serial: str, certificate_der: bytes, challenge: str, signature: bytes
) -> tuple[str, AgentToken]:
    """Check the card's signature over a fresh challenge; return a new token and its record."""
    # A challenge is spent whatever happens next, so a refused signature cannot be replayed.
    now = clock.now()
    spent = AgentChallenge.objects.filter(
        value=challenge, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not challenge or spent != 1:
        raise NotPermitted("The sign-in challenge is unknown, used or expired; try again.")
    with transaction.atomic():
        try:
            presented = x509.load_der_x509_certificate(certificate_der)
        except ValueError:
            raise ValidationFailed(
                "The card's certificate cannot be read.", field="certificate"
            ) from None
        # The signature is checked against the certificate presented before anything is looked
        # up, so a forged signature gets one answer, in one time, whether the card exists or not.
        public = presented.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        message = login_message(challenge=challenge, chip_serial=chip_serial.strip())
        if not verify_signature(public, signature, message):
            raise NotPermitted(REFUSED)
        der = presented.public_bytes(serialization.Encoding.DER)
        link = (
            CardCertificate.objects.select_related("card", "card__holder", "certificate")
            .filter(certificate__serial_hex=serial_to_hex(presented.serial_number))
            .first()
        )
        if link is None or bytes(link.certificate.der) != der:
            raise NotPermitted("This certificate was not issued by CIS for a smartcard.")
        card, cert = link.card, link.certificate
        if card.chip_serial != chip_serial.strip():
            raise NotPermitted("This certificate belongs to another card.")
        if card.status in (CardStatus.CANCELLED, CardStatus.CLEARED):
            raise InvalidState(ended_message(card))
        _check_certificate(cert, now)
        holder: Person = card.holder
        if holder.status == PersonStatus.CLOSED:
            raise NotPermitted("This profile is closed.")
        if link.installed_at is None:
            install_proven(holder=holder, link=link)
        token = secrets.token_urlsafe(32)
        row = AgentToken.objects.create(
            digest=secret_digest(token),
            person=holder,
            card=card,
            certificate=cert,
            expires_at=now + conf.agent_token_lifetime(),
        )
        record(
            actor=holder,
            rule=RULE,
            action=Action.AGENT_SIGN_IN,
            target_type="smartcard",
            target_ref=card.chip_serial,
            organisation_ref=organisation_ref(holder),
            after={"certificate": cert.serial_hex, "expires_at": row.expires_at},
        )
    return token, row


def _check_certificate(cert: Certificate, now: dt.datetime) -> None:
    if cert.status != CertificateStatus.VALID:
        raise NotPermitted(
            f"This card's certificate is {cert.get_status_display().lower()}; ask your RA."
        )
    if cert.not_after <= now:
        raise NotPermitted(
            f"This card's certificate expired on {cert.not_after.date().isoformat()}. An RA Agent "
            "can renew it with you present."
        )
    if cert.not_before > now:
        raise NotPermitted("This card's certificate is not valid yet; check the clock.")


def agent_token_person(token: str) -> tuple[Person, AgentToken] | None:
    """The person a bearer token signs in, or None if it is unknown, expired or revoked."""
    row = (
        AgentToken.objects.select_related("person", "card", "certificate")
        .filter(digest=secret_digest(token))
        .first()
    )
    now = clock.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.card.status not in (CardStatus.ACTIVE, CardStatus.LOCKED, CardStatus.ISSUED):
        return None
    if row.certificate.status != CertificateStatus.VALID:
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        AgentToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.person, row


@transaction.atomic
def agent_sign_out(*, token: AgentToken) -> None:
    row = AgentToken.objects.select_for_update().get(pk=token.pk)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        row.save(update_fields=["revoked_at", "updated_at"])
        record(
            actor=row.person,
            rule="own-session",
            action=Action.AGENT_SIGN_OUT,
            target_type="smartcard",
            target_ref=row.card.chip_serial,
            organisation_ref=organisation_ref(row.person),
        )
