"""Every change to a certificate: issue from a CSR, revoke, supersede; audited, CRL kept current."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.db import transaction

from cis.audit.trail import record, record_many
from cis.authz.actions import Action
from cis.authz.policy import Actor, decide, require
from cis.authz.scope import person_workplaces, workplaces_query
from cis.authz.targets import CardStep
from cis.core import clock, metrics, rows, sql
from cis.core.errors import InvalidState, NotFound, ValidationFailed
from cis.people.models import Person, PersonStatus
from cis.signin.services import sessions_end_for_certificate, sessions_end_for_certificates

from . import authority, crl, ocsp_cache, ocsp_presign, profiles
from .constants import MAX_VALIDITY_DAYS, NOT_BEFORE_BACKDATE
from .csr import check_request
from .models import Certificate, serial_to_hex
from .selectors import normalise_serial
from .serials import new_serial
from .states import CertificateStatus, RevocationReason, parse_reason


def _snapshot(cert: Certificate) -> dict[str, Any]:
    return {
        "serial": cert.serial_hex,
        "person": cert.person.user_id,
        "subject": cert.subject,
        "not_after": cert.not_after,
        "status": cert.status,
        "revoked_at": cert.revoked_at,
        "revocation_reason": cert.revocation_reason,
        "card_ref": cert.card_ref or "",
    }


def _organisation_ref(person: Person) -> str:
    """An ODS code where the person works, so the event shows in that organisation's audit."""
    return min((place.ods_code for place in person_workplaces(person).values()), default="")


# Issuance runs these two statements every time, and the ORM spent longer composing each of them
# than the database spent running it (see cis.core.sql), so they are written out in SQL.
_HOLDER = rows.Reader(Person, "holder")


@cache
def _holder_sql() -> str:
    workplaces, _ = workplaces_query(0)
    lock = " FOR UPDATE" if sql.connection().features.has_select_for_update else ""
    return (
        f"SELECT {_HOLDER.select},"  # noqa: S608 - names from the model
        f" (SELECT MIN(w.ods_code) FROM ({workplaces}) w)"
        f" FROM {sql.table(Person)} holder WHERE holder.{sql.column(Person, 'id')} = %s{lock}"
    )


def _lock_holder(person: Person) -> tuple[Person, str]:
    """The holder's row, read afresh and locked, and the organisation_ref for their events.

    One statement, not two: on PostgreSQL each is a round trip made while holding the lock.
    The organisation_ref is an ODS code where the person works, so the event shows in that
    organisation's audit.
    """
    _, values = workplaces_query(person.pk)
    row = sql.one(_holder_sql(), [*values, person.pk])
    if row is None:
        raise Person.DoesNotExist(f"No person with id {person.pk}.")
    locked = _HOLDER.build(row)
    assert locked is not None  # noqa: S101 - the row was found
    return locked, row[-1] or ""


# A plain statement rather than a queryset: the ORM spent longer building this one-column read
# than SQLite spent answering it, on every issuance (see cis.core.sql).
KEY_HOLDERS_SQL = (
    f"SELECT {sql.columns(Certificate, ['person', 'revocation_reason'])}"  # noqa: S608
    f" FROM {sql.table(Certificate)} WHERE {sql.column(Certificate, 'spki_sha256')} = %s"
)


def _check_key_reuse(person: Person, spki_sha256: str) -> None:
    for holder_id, reason in sql.rows(KEY_HOLDERS_SQL, [spki_sha256]):
        if reason == RevocationReason.KEY_COMPROMISE:
            raise ValidationFailed(
                "This key was reported compromised and can never be certified again. "
                "Generate a new key on the card.",
                field="csr",
            )
        if holder_id != person.pk:
            raise ValidationFailed(
                "This key is already certified for someone else. Generate a new key on the card.",
                field="csr",
            )


def _validity(validity_days: int | None) -> int:
    from . import config  # noqa: PLC0415 - settings are read when issuing, not at import

    days = config.default_validity_days() if validity_days is None else validity_days
    if not 1 <= days <= MAX_VALIDITY_DAYS:
        raise ValidationFailed(
            f"A certificate is valid for 1 to {MAX_VALIDITY_DAYS} days (3 years); "
            f"{days} days was asked for.",
            field="validity_days",
        )
    return days


def certificate_issue(
    *,
    actor: Actor,
    person: Person,
    csr_pem: bytes,
    validity_days: int | None = None,
    card_ref: str | None = None,
    card_action: Action | None = None,
) -> Certificate:
    """Certify the key in a CSR for a person; subject and extensions come from the directory.

    `card_action` is the card action (an issue, a renewal) this certificate is a step of; the
    policy then decides the issue as that step (authz.targets.CardStep), so a holder renewing
    their own card gets the certificate the renewal needs and nothing else.
    """
    days = _validity(validity_days)
    issuing_ca = authority.issuing()
    with transaction.atomic():
        person, organisation_ref = _lock_holder(person)
        decision = require(actor, Action.CERTIFICATE_ISSUE, _target(person, card_action))
        if person.status == PersonStatus.CLOSED:
            raise InvalidState(f"{person.full_name}'s profile is closed; reopen it first.")
        if person.status != PersonStatus.ACTIVE:
            raise InvalidState(
                f"{person.full_name}'s identity has not been verified yet, so no certificate "
                "can be issued."
            )
        checked = check_request(csr_pem)
        _check_key_reuse(person, checked.spki_sha256)
        now = clock.now()
        not_before = now - NOT_BEFORE_BACKDATE
        not_after = now + dt.timedelta(days=days)
        if not_after > issuing_ca.not_after:
            raise InvalidState(
                "The issuing CA expires before this certificate would; ask the CA operator to "
                "renew the issuing CA."
            )
        # 159 random bits: a repeat is not a practical event, and the unique constraint on
        # (issuer, serial) would refuse one rather than ever issue two alike.
        serial = new_serial()
        subject = profiles.person_name(full_name=person.full_name, user_id=person.user_id)
        x509_cert = profiles.smartcard_certificate(
            issuer=issuing_ca.issuer,
            subject=subject,
            public_key=checked.public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        cert = Certificate(
            issuer_id=issuing_ca.id,
            serial_hex=serial_to_hex(serial),
            person=person,
            card_ref=card_ref,
            subject=subject.rfc4514_string(),
            not_before=x509_cert.not_valid_before_utc,
            not_after=x509_cert.not_valid_after_utc,
            key_algorithm=checked.key_algorithm,
            spki_sha256=checked.spki_sha256,
            issued_by_ref=str(getattr(actor, "audit_ref", "") or getattr(actor, "user_id", "")),
            der=x509_cert.public_bytes(serialization.Encoding.DER),
        )
        rows.insert(cert)
        record(
            actor=actor,
            rule=decision.rule,
            action=Action.CERTIFICATE_ISSUE,
            target_type="certificate",
            target_ref=cert.serial_hex,
            organisation_ref=organisation_ref,
            after={**_snapshot(cert), "validity_days": days, "key": checked.key_algorithm},
        )
        transaction.on_commit(lambda: metrics.inc(metrics.CERTIFICATES_ISSUED))
    # No OCSP cache entry to drop: a cached answer is only served for the status it was made
    # for, so an "unknown" cached before this serial existed can never be served for it now.
    return cert


def _target(person: Person, card_action: Action | None) -> Person | CardStep:
    return person if card_action is None else CardStep(card_action, person)


def _end(
    *,
    actor: Actor,
    certificate: Certificate,
    reason: RevocationReason,
    card_action: Action | None,
    replacement: Certificate | None = None,
    request_ref: str = "",
) -> Certificate:
    with transaction.atomic():
        # Only the certificate's row: locking the joined issuing CA's row too (FOR UPDATE
        # without OF) made every revocation wait for the one before it to commit.
        cert = (
            Certificate.objects.select_for_update(of=("self",))
            .select_related("person", "issuer")
            .get(pk=certificate.pk)
        )
        target = cert if card_action is None else CardStep(card_action, cert.person)
        decision = require(actor, Action.CERTIFICATE_REVOKE, target)
        if cert.status != CertificateStatus.VALID:
            raise InvalidState(
                f"Certificate {cert.serial_hex} is already {cert.get_status_display().lower()}."
            )
        before = _snapshot(cert)
        cert.status = (
            CertificateStatus.SUPERSEDED
            if reason == RevocationReason.SUPERSEDED
            else CertificateStatus.REVOKED
        )
        cert.revoked_at = clock.now().replace(microsecond=0)
        cert.revocation_reason = reason
        cert.superseded_by = replacement
        cert.save(
            update_fields=[
                "status",
                "revoked_at",
                "revocation_reason",
                "superseded_by",
                "updated_at",
            ]
        )
        after = _snapshot(cert)
        if replacement is not None:
            after["superseded_by"] = replacement.serial_hex
        record(
            actor=actor,
            rule=decision.rule,
            action=Action.CERTIFICATE_REVOKE,
            target_type="certificate",
            target_ref=cert.serial_hex,
            organisation_ref=_organisation_ref(cert.person),
            before=before,
            after=after,
            request_ref=request_ref,
        )
        if reason != RevocationReason.SUPERSEDED:
            # A renewal keeps the holder signed in; any other revocation ends their sessions now.
            sessions_end_for_certificate(cert.serial_hex)
        # The next CRL lists it (published on demand: crl.py); OCSP says so once this commits.
        crl.revocation_pending(certificate=cert)
        # Its stored OCSP answers no longer match its status, so none would be served; gone
        # with the revocation, they take no room either.
        ocsp_cache.forget(cert.serial_hex)
    transaction.on_commit(lambda: metrics.inc(metrics.CERTIFICATES_REVOKED, reason=str(reason)))
    return cert


def certificate_revoke(
    *,
    actor: Actor,
    certificate: Certificate,
    reason: str,
    card_action: Action | None = None,
    request_ref: str = "",
) -> Certificate:
    """Revoke for good with one of the BR reasons; the CRL and OCSP show it at once.

    `card_action`: the card action (a cancellation, a clear) this revocation is a step of.
    """
    return _end(
        actor=actor,
        certificate=certificate,
        reason=parse_reason(reason),
        card_action=card_action,
        request_ref=request_ref,
    )


def certificate_supersede(
    *,
    actor: Actor,
    certificate: Certificate,
    replacement: Certificate | None = None,
    card_action: Action | None = None,
) -> Certificate:
    """Retire a certificate replaced by a renewal (revoked with reason superseded)."""
    if replacement is not None:
        if replacement.person_id != certificate.person_id:
            raise ValidationFailed("The replacement certificate belongs to someone else.")
        if replacement.pk == certificate.pk:
            raise ValidationFailed("A certificate cannot supersede itself.")
    return _end(
        actor=actor,
        certificate=certificate,
        reason=RevocationReason.SUPERSEDED,
        card_action=card_action,
        replacement=replacement,
    )


# At most this many certificates in one bulk revocation: one transaction holds their rows.
MAX_BULK_REVOCATIONS = 1000


def certificates_revoke(
    *, actor: Actor, serials: list[str], reason: str, request_ref: str = ""
) -> list[Certificate]:
    """Revoke many certificates at once (a compromised batch, as EJBCA and MyID offer): all of
    them, or, if any one is refused, none.

    Each certificate is decided by the one policy as certificate_revoke decides it, and gets
    its own audit event under the rule that allowed it, in one transaction. A serial the actor
    may not see is 'not found', as for one. Their new "revoked" OCSP answers are signed and
    stored in the same transaction (ocsp_presign.presign_now), so the requests that follow
    are answered from storage; the next CRL lists them (published on demand: crl.py).
    """
    parsed = parse_reason(reason)
    if parsed == RevocationReason.SUPERSEDED:
        raise ValidationFailed("A renewal supersedes a certificate; not a bulk revocation.")
    wanted = list(dict.fromkeys(normalise_serial(serial) for serial in serials))
    if not wanted:
        raise ValidationFailed("Name at least one certificate.", field="serials")
    if len(wanted) > MAX_BULK_REVOCATIONS:
        raise ValidationFailed(
            f"At most {MAX_BULK_REVOCATIONS:,} certificates at once; {len(wanted):,} were named.",
            field="serials",
        )
    issuing_ca = authority.issuing()
    with transaction.atomic():
        # In id order, so that two bulk revocations that overlap lock in the same order.
        found = {
            cert.serial_hex: cert
            for cert in Certificate.objects.select_for_update(of=("self",))
            .select_related("person")
            .filter(issuer_id=issuing_ca.id, serial_hex__in=wanted)
            .order_by("id")
        }
        events: list[dict[str, Any]] = []
        at = clock.now().replace(microsecond=0)
        for serial_hex in wanted:
            cert = found.get(serial_hex)
            if cert is None or not decide(actor, Action.CERTIFICATE_VIEW, cert).allowed:
                raise NotFound("No such certificate, or not one you can see.", field="serials")
            decision = require(actor, Action.CERTIFICATE_REVOKE, cert)
            if cert.status != CertificateStatus.VALID:
                raise InvalidState(
                    f"Certificate {cert.serial_hex} is already "
                    f"{cert.get_status_display().lower()}; nothing was revoked."
                )
            before = _snapshot(cert)
            cert.status = CertificateStatus.REVOKED
            cert.revoked_at = at
            cert.revocation_reason = parsed
            events.append(
                {
                    "rule": decision.rule,
                    "action": Action.CERTIFICATE_REVOKE,
                    "target_type": "certificate",
                    "target_ref": cert.serial_hex,
                    "organisation_ref": _organisation_ref(cert.person),
                    "before": before,
                    "after": _snapshot(cert),
                    "request_ref": request_ref,
                }
            )
        certs = [found[serial_hex] for serial_hex in wanted]
        ids = [cert.pk for cert in certs]
        Certificate.objects.filter(pk__in=ids).update(
            status=CertificateStatus.REVOKED,
            revoked_at=at,
            revocation_reason=parsed,
            updated_at=clock.now(),
        )
        record_many(actor=actor, rule=str(events[0]["rule"]), events=events)
        sessions_end_for_certificates([cert.serial_hex for cert in certs])
        crl.revocations_pending(certificates=certs)
        ocsp_presign.presign_now(ids)
    count = len(certs)
    transaction.on_commit(
        lambda: metrics.inc(metrics.CERTIFICATES_REVOKED, count, reason=str(parsed))
    )
    return certs
