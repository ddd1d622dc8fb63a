"""Every change to a certificate: issue from a CSR, revoke, supersede; audited, CRL kept current."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.db import transaction

from cis.audit.trail import record, record_many
from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision, decide, require
from cis.authz.scope import person_workplaces, workplaces_query
from cis.authz.targets import CardStep
from cis.core import clock, metrics, rows, sql
from cis.core.errors import DomainError, InvalidState, NotFound, NotPermitted, ValidationFailed
from cis.people.models import Person, PersonStatus
from cis.signin.services import sessions_end_for_certificates

from . import authority, crl, ocsp_presign, profiles
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


def _locked(**lookup: Any) -> list[Certificate]:
    """The certificates' rows, locked, in id order (so that two revocations that overlap lock
    in the same order). Only their own rows: locking the joined issuing CA's row too (FOR
    UPDATE without OF) made every revocation wait for the one before it to commit."""
    return list(
        Certificate.objects.select_for_update(of=("self",))
        .select_related("person", "issuer")
        .filter(**lookup)
        .order_by("id")
    )


def _may_end(
    actor: Actor, cert: Certificate, card_action: Action | None, *, attempt: bool = True
) -> Decision:
    """The policy's decision to end this certificate, or the refusal (NotPermitted, or
    InvalidState when it has already ended). `attempt=False` asks without it being a refused
    attempt (certificates_revoke_check: a list checked before anything is tried)."""
    target = cert if card_action is None else CardStep(card_action, cert.person)
    if attempt:
        decision = require(actor, Action.CERTIFICATE_REVOKE, target)
    else:
        decision = decide(actor, Action.CERTIFICATE_REVOKE, target)
        if not decision.allowed:
            raise NotPermitted(decision.reason)
    if cert.status != CertificateStatus.VALID:
        raise InvalidState(
            f"Certificate {cert.serial_hex} is already "
            f"{cert.get_status_display().lower()}; nothing was revoked."
        )
    return decision


def _end(
    *,
    actor: Actor,
    certificates: list[Certificate],
    reason: RevocationReason,
    card_action: Action | None = None,
    replacement: Certificate | None = None,
    request_ref: str = "",
) -> list[Certificate]:
    """The one way certificates end, one or a batch, all or none: revoked for good, or
    superseded by a renewal. Runs in the caller's transaction, on rows it locked (_locked).

    Each certificate is decided by the policy on its own (as a step of `card_action` when
    there is one) and gets its own audit event under the rule that allowed it; their sign-in
    sessions end (not for a renewal, which keeps the holder signed in); the next CRL lists
    them (published on demand: crl.py); their "revoked" OCSP answers are signed and stored
    here (ocsp_presign.presign_now), so the requests that follow are answered from storage.
    """
    status = (
        CertificateStatus.SUPERSEDED
        if reason == RevocationReason.SUPERSEDED
        else CertificateStatus.REVOKED
    )
    at = clock.now().replace(microsecond=0)
    events: list[dict[str, Any]] = []
    for cert in certificates:
        decision = _may_end(actor, cert, card_action)
        before = _snapshot(cert)
        cert.status = status
        cert.revoked_at = at
        cert.revocation_reason = reason
        cert.superseded_by = replacement
        after = _snapshot(cert)
        if replacement is not None:
            after["superseded_by"] = replacement.serial_hex
        events.append(
            {
                "rule": decision.rule,
                "action": Action.CERTIFICATE_REVOKE,
                "target_type": "certificate",
                "target_ref": cert.serial_hex,
                "organisation_ref": _organisation_ref(cert.person),
                "before": before,
                "after": after,
                "request_ref": request_ref,
            }
        )
    ids = [cert.pk for cert in certificates]
    updated_at = clock.now()
    Certificate.objects.filter(pk__in=ids).update(
        status=status,
        revoked_at=at,
        revocation_reason=reason,
        superseded_by=replacement,
        updated_at=updated_at,
    )
    for cert in certificates:
        cert.updated_at = updated_at
    record_many(actor=actor, rule=str(events[0]["rule"]), events=events)
    if status == CertificateStatus.REVOKED:
        # A renewal keeps the holder signed in; any other revocation ends their sessions now.
        sessions_end_for_certificates([cert.serial_hex for cert in certificates])
    crl.revocations_pending(certificates=certificates)
    ocsp_presign.presign_now(ids)
    count = len(certificates)
    transaction.on_commit(
        lambda: metrics.inc(metrics.CERTIFICATES_REVOKED, count, reason=str(reason))
    )
    return certificates


def _one(certificate: Certificate) -> list[Certificate]:
    found = _locked(pk=certificate.pk)
    if not found:
        raise Certificate.DoesNotExist(f"No certificate with id {certificate.pk}.")
    return found


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
    parsed = parse_reason(reason)
    with transaction.atomic():
        (cert,) = _end(
            actor=actor,
            certificates=_one(certificate),
            reason=parsed,
            card_action=card_action,
            request_ref=request_ref,
        )
    return cert


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
    with transaction.atomic():
        (cert,) = _end(
            actor=actor,
            certificates=_one(certificate),
            reason=RevocationReason.SUPERSEDED,
            card_action=card_action,
            replacement=replacement,
        )
    return cert


# At most this many certificates in one bulk revocation: one transaction holds their rows.
MAX_BULK_REVOCATIONS = 1000


def _seen(actor: Actor, cert: Certificate | None) -> Certificate:
    """A certificate named by its serial, if the actor may see it: one out of sight is 'not
    found', exactly as one that does not exist (as certificate_get answers for one)."""
    if cert is None or not decide(actor, Action.CERTIFICATE_VIEW, cert).allowed:
        raise NotFound("No such certificate, or not one you can see.", field="serials")
    return cert


def _wanted(serials: Sequence[str]) -> list[str]:
    """Serials in stored form, each once: at least one, and no more than a batch holds."""
    wanted = list(dict.fromkeys(normalise_serial(serial) for serial in serials))
    if not wanted:
        raise ValidationFailed("Name at least one certificate.", field="serials")
    _within_limit(len(wanted))
    return wanted


def _within_limit(count: int) -> None:
    if count > MAX_BULK_REVOCATIONS:
        raise ValidationFailed(
            f"At most {MAX_BULK_REVOCATIONS:,} certificates at once; {count:,} were named.",
            field="serials",
        )


def _bulk_reason(reason: str) -> RevocationReason:
    parsed = parse_reason(reason)
    if parsed == RevocationReason.SUPERSEDED:
        raise ValidationFailed(
            "A renewal supersedes a certificate; not a bulk revocation.", field="reason"
        )
    return parsed


@dataclass(frozen=True)
class RevocationLine:
    """One line of a list of serials, as certificates_revoke would take it."""

    number: int  # its line number, from 1
    given: str  # as typed
    serial_hex: str  # in stored form; "" when the line is not a serial number
    certificate: Certificate | None  # when it may be revoked
    problem: str  # why it may not ("" when it may)
    repeats: int | None  # the earlier line naming the same certificate


def certificates_revoke_check(*, actor: Actor, lines: Sequence[str]) -> list[RevocationLine]:
    """What certificates_revoke would do with each line of a list of serials, decided by the
    same rules, without changing anything: so that a person sees every problem at once, and
    what will be revoked before they confirm. Blank lines are skipped. A serial out of the
    actor's sight reads exactly as one that does not exist."""
    parsed: list[tuple[int, str, str, str]] = []
    for number, line in enumerate(lines, start=1):
        given = line.strip()
        if not given:
            continue
        try:
            parsed.append((number, given, normalise_serial(given), ""))
        except ValidationFailed as exc:
            parsed.append((number, given, "", exc.message))
    if not parsed:
        raise ValidationFailed("Name at least one certificate.", field="serials")
    _within_limit(len({p[2] for p in parsed if p[2]}))
    issuing_ca = authority.issuing()
    found = {
        cert.serial_hex: cert
        for cert in Certificate.objects.select_related("person", "issuer").filter(
            issuer_id=issuing_ca.id, serial_hex__in=[p[2] for p in parsed if p[2]]
        )
    }
    first: dict[str, int] = {}
    checked = []
    for number, given, serial_hex, unparsed in parsed:
        cert, problem = None, unparsed
        repeats = first.get(serial_hex) if serial_hex else None
        if serial_hex and repeats is None:
            first[serial_hex] = number
            try:
                cert = _seen(actor, found.get(serial_hex))
                _may_end(actor, cert, None, attempt=False)
            except DomainError as exc:
                cert, problem = None, exc.message
        checked.append(RevocationLine(number, given, serial_hex, cert, problem, repeats))
    return checked


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
    parsed = _bulk_reason(reason)
    wanted = _wanted(serials)
    issuing_ca = authority.issuing()
    with transaction.atomic():
        found = {
            cert.serial_hex: cert
            for cert in _locked(issuer_id=issuing_ca.id, serial_hex__in=wanted)
        }
        for serial_hex in wanted:
            _seen(actor, found.get(serial_hex))
        return _end(
            actor=actor,
            certificates=[found[serial_hex] for serial_hex in wanted],
            reason=parsed,
            request_ref=request_ref,
        )
