"""Every change to a sign-in session: start, hand-off, role choice, heartbeat and end."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.module_loading import import_string

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scope import active_assignments, active_assignments_query
from cis.core import clock, rows, sql
from cis.core.digests import secret_digest
from cis.core.errors import InvalidState, NotPermitted, ValidationFailed
from cis.organisations.models import Organisation
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment

from .constants import EXPIRED_ATTEMPT, TICKET_SECONDS
from .models import (
    BackchannelLogout,
    EndReason,
    SignInMethod,
    SignInSession,
    SignInTicket,
    WebAuthnCredential,
)


def person_roles(person: Person) -> QuerySet[PositionAssignment]:
    """The positions a person may sign in as today (active assignment, open organisation)."""
    return (
        PositionAssignment.objects.filter(active_assignments(), person=person)
        .select_related("position__organisation")
        .prefetch_related("position__job_roles__baseline_activities", "position__activities")
        .order_by("position__organisation__name", "position__name", "id")
    )


def role_ids(person: Person, limit: int = 2) -> list[int]:
    """Ids of (up to `limit` of) the positions a person may sign in as: one query, no rows."""
    return [pk for pk, _ in _roles_and_orgs(person, limit)]


# The assignment (a) and its organisation's ODS code (o), as active_assignments_query names them.
_ASSIGNMENT_AND_ODS = (
    f"a.{sql.column(PositionAssignment, 'id')}, o.{sql.column(Organisation, 'ods_code')}"
)


def _roles_and_orgs(person: Person, limit: int) -> list[tuple[int, str]]:
    """role_ids with each position's ODS code, which the sign-in's audit event names.

    Unordered: callers ask whether there are none, one (and which) or several to choose from.
    Every sign-in asks, so this is authz's own plain-SQL statement of active_assignments().
    """
    statement, params = active_assignments_query(person.pk, _ASSIGNMENT_AND_ODS)
    return [(int(pk), str(ods)) for pk, ods in sql.rows(f"{statement} LIMIT %s", [*params, limit])]


def check_may_sign_in(person: Person, roles: list[int] | None = None) -> None:
    """The person-level rules every method shares; the message tells the holder what to do."""
    if person.status == PersonStatus.CLOSED:
        raise NotPermitted(
            "Your profile is closed, so you cannot sign in. If you have started work again, "
            "ask your Registration Authority to reopen it."
        )
    if person.status != PersonStatus.ACTIVE:
        raise NotPermitted(
            "Your identity has not been verified yet, so you cannot sign in. Ask your "
            "Registration Authority to complete your identity check."
        )
    if not (role_ids(person, 1) if roles is None else roles):
        raise NotPermitted(
            "You do not hold an active role at any organisation, so you cannot sign in. "
            "Ask your Sponsor or Registration Authority to assign you a position."
        )


def _session_snapshot(session: SignInSession) -> dict[str, Any]:
    return {
        "session": str(session.ref),
        "method": session.method,
        "card_serial": session.card_serial,
        "certificate_serial": session.certificate_serial,
        "authenticator": session.authenticator_id,
        "workstation": session.workstation,
        "acr": session.acr,
        "selected_assignment": session.selected_assignment_id,
        "ended_at": session.ended_at,
        "end_reason": session.end_reason,
    }


def session_start(
    *,
    person: Person,
    method: str,
    acr: str,
    amr: list[str],
    card_serial: str = "",
    card_id: int | None = None,
    certificate_serial: str = "",
    authenticator: WebAuthnCredential | None = None,
    workstation: str = "",
    client_address: str = "",
    agent_token: str = "",
) -> SignInSession:
    """A new session for someone who has just proved who they are (the caller checked how).

    `session.role_choices` (not stored) says how many roles there are to choose from, up to 2.
    """
    draft = session_draft(
        person=person,
        method=method,
        acr=acr,
        amr=amr,
        card_serial=card_serial,
        card_id=card_id,
        certificate_serial=certificate_serial,
        authenticator=authenticator,
        workstation=workstation,
        client_address=client_address,
        agent_token=agent_token,
    )
    # Inside a caller's transaction (the smartcard sign-in's) a savepoint would buy nothing:
    # any failure here fails the whole sign-in.
    with transaction.atomic(savepoint=False):
        return session_open(draft)


def session_draft(
    *,
    person: Person,
    method: str,
    acr: str,
    amr: list[str],
    card_serial: str = "",
    card_id: int | None = None,
    certificate_serial: str = "",
    authenticator: WebAuthnCredential | None = None,
    workstation: str = "",
    client_address: str = "",
    agent_token: str = "",
) -> SignInSession:
    """The new session, not stored yet: session_open stores it, inside the transaction.

    Built before the transaction begins, because on SQLite that transaction holds the write
    lock every other worker's sign-in waits for; only the reads and writes need to be in it.
    """
    if method not in SignInMethod.values:
        raise ValidationFailed(f"'{method}' is not a sign-in method.")
    at = clock.now()
    return SignInSession(
        person=person,
        method=method,
        card_serial=card_serial,
        card_id=card_id,
        certificate_serial=certificate_serial,
        authenticator=authenticator,
        workstation=workstation[:100],
        client_address=client_address,
        acr=acr,
        amr=amr,
        auth_time=at,
        last_seen_at=at,
        expires_at=at + dt.timedelta(hours=settings.CIS_SIGNIN_ABSOLUTE_HOURS),
        agent_token_digest=secret_digest(agent_token) if agent_token else "",
        last_heartbeat_at=at if agent_token else None,
    )


def session_open(session: SignInSession) -> SignInSession:
    """Store a drafted session, inside the caller's transaction, if its holder may sign in.

    The holder's roles decide: none refuses; exactly one is chosen for them. The start is
    audited, and a card live at another workstation at the same time is flagged.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("session_open must run inside the sign-in's transaction")
    person: Person = session.person
    roles_and_orgs = _roles_and_orgs(person, 2)
    roles = [pk for pk, _ in roles_and_orgs]
    check_may_sign_in(person, roles)
    if len(roles) == 1:
        session.selected_assignment_id = roles[0]
        session.selected_at = session.auth_time
    rows.insert(session)
    session.role_choices = len(roles)  # type: ignore[attr-defined]
    record(
        actor=person,
        rule=f"authenticated:{session.method}",
        action=Action.SESSION_START,
        target_type="person",
        target_ref=person.user_id,
        organisation_ref=roles_and_orgs[0][1] if len(roles) == 1 else "",
        after=_session_snapshot(session),
    )
    if session.card_serial:
        _flag_card_in_use_elsewhere(session)
    return session


def _flag_card_in_use_elsewhere(session: SignInSession) -> None:
    """Cards must not be shared: a card live at two workstations at once is flagged and audited."""
    # Every card sign-in asks this, and almost always finds nobody: one plain SELECT, which
    # on PostgreSQL locks the rows it finds (select_for_update), as the flagging below updates them.
    field = SignInSession._meta.get_field("ref")
    others = [
        (pk, field.to_python(ref), workstation, address)
        for pk, ref, workstation, address in sql.rows(
            _in_use_elsewhere_sql(),
            [session.card_serial, session.pk, session.workstation, session.client_address],
        )
    ]
    if not others:
        return
    at = clock.now()
    ids = [pk for pk, _, _, _ in others] + [session.pk]
    SignInSession.objects.filter(pk__in=ids).update(shared_card_flagged_at=at)
    session.shared_card_flagged_at = at
    record(
        actor=None,
        rule="card-in-use-at-two-workstations",
        action=Action.SESSION_FLAG_SHARED_CARD,
        target_type="person",
        target_ref=session.person.user_id,
        after={
            "card_serial": session.card_serial,
            "sessions": [str(ref) for _, ref, _, _ in others] + [str(session.ref)],
            "workstations": sorted(
                {
                    f"{workstation} {address}".strip()
                    for _, _, workstation, address in [
                        *others,
                        (0, "", session.workstation, session.client_address),
                    ]
                }
            ),
        },
    )


@functools.cache
def _in_use_elsewhere_sql() -> str:
    """_live().filter(card_serial=..).exclude(pk=..).exclude(workstation=.., client_address=..)."""
    c = functools.partial(sql.column, SignInSession)
    lock = " FOR UPDATE" if sql.connection().features.has_select_for_update else ""
    return (
        f"SELECT {c('id')}, {c('ref')}, {c('workstation')}, {c('client_address')}"  # noqa: S608
        f" FROM {sql.table(SignInSession)} WHERE {c('ended_at')} IS NULL"
        f" AND {c('card_serial')} = %s AND NOT ({c('id')} = %s)"
        f" AND NOT ({c('workstation')} = %s AND {c('client_address')} = %s){lock}"
    )


def _live() -> QuerySet[SignInSession]:
    return SignInSession.objects.filter(ended_at__isnull=True)


def _drop_browser_session(session_key: str) -> None:
    if not session_key:
        return
    engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    store: SessionBase = engine(session_key)
    store.delete(session_key)


def _end(sessions: list[SignInSession], *, actor: Any, rule: str, reason: str) -> int:
    at = clock.now()
    for session in sessions:
        before = _session_snapshot(session)
        session.ended_at = at
        session.end_reason = reason
        session.agent_token_digest = ""
        session.save(update_fields=["ended_at", "end_reason", "agent_token_digest"])
        _drop_browser_session(session.django_session_key)
        BackchannelLogout.objects.filter(session=session, due_at__isnull=True).update(due_at=at)
        record(
            actor=actor,
            rule=rule,
            action=Action.SESSION_END,
            target_type="person",
            target_ref=session.person.user_id,
            before=before,
            after=_session_snapshot(session),
        )
    return len(sessions)


def _lock(query: QuerySet[SignInSession]) -> list[SignInSession]:
    return list(query.select_for_update().select_related("person"))


@transaction.atomic
def session_end(
    *, actor: Actor, session: SignInSession, reason: str = EndReason.SIGNED_OUT
) -> None:
    """One session ends: signed out by its holder, or ended by an administrator in scope."""
    decision = require(actor, Action.SESSION_END, session.person)
    locked = _lock(_live().filter(pk=session.pk))
    _end(locked, actor=actor, rule=decision.rule, reason=reason)
    session.refresh_from_db()


@transaction.atomic
def person_sessions_end(*, actor: Actor, person: Person) -> int:
    """'End this person's sessions': every live session of theirs ends at once."""
    decision = require(actor, Action.SESSION_END, person)
    reason = EndReason.SIGNED_OUT if actor == person else EndReason.ENDED_BY_ADMIN
    return _end(
        _lock(_live().filter(person=person)), actor=actor, rule=decision.rule, reason=reason
    )


@transaction.atomic
def sessions_end_for_card(card_id: int | str, *, reason: str = EndReason.CARD_CANCELLED) -> int:
    """Every session that used a card ends now. Call inside the card's cancellation.

    card_id is the card's chip serial (str) or its database id (int).
    """
    query = _live().filter(
        Q(card_id=card_id) if isinstance(card_id, int) else Q(card_serial=str(card_id))
    )
    return _end(_lock(query), actor=None, rule=f"consequence:{reason}", reason=reason)


def _serial_key(serial: str | int) -> str:
    """A certificate serial (an int, or its hex as PKI stores it) as sessions store it."""
    number = serial if isinstance(serial, int) else int(str(serial).lower().removeprefix("0x"), 16)
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big").hex()


def sessions_end_for_certificate(
    serial: str | int, *, reason: str = EndReason.CERTIFICATE_REVOKED
) -> int:
    """Every session that signed in with a certificate ends now. Call inside its revocation.

    serial is the certificate's serial number, or its hex as PKI stores it (serial_hex).
    """
    return sessions_end_for_certificates([serial], reason=reason)


@transaction.atomic
def sessions_end_for_certificates(
    serials: Sequence[str | int], *, reason: str = EndReason.CERTIFICATE_REVOKED
) -> int:
    """sessions_end_for_certificate for many at once (a bulk revocation): one query."""
    query = _live().filter(certificate_serial__in=[_serial_key(s) for s in serials])
    return _end(_lock(query), actor=None, rule=f"consequence:{reason}", reason=reason)


@transaction.atomic
def sessions_end_for_person(person: Person, *, reason: str = EndReason.PERSON_CLOSED) -> int:
    """Every session of a person ends now. Call inside the closing of their profile."""
    query = _live().filter(person=person)
    return _end(_lock(query), actor=None, rule=f"consequence:{reason}", reason=reason)


@transaction.atomic
def sessions_end_for_authenticator(credential: WebAuthnCredential) -> int:
    query = _live().filter(authenticator=credential)
    reason = EndReason.AUTHENTICATOR_REMOVED
    return _end(_lock(query), actor=None, rule=f"consequence:{reason}", reason=reason)


@transaction.atomic
def session_expire(*, session: SignInSession, reason: str) -> None:
    """The session ended by itself: a timeout, a silent card, or the browser signing out."""
    _end(_lock(_live().filter(pk=session.pk)), actor=None, rule=f"ended:{reason}", reason=reason)
    session.refresh_from_db()


def sessions_end_expired(*, limit: int = 500) -> int:
    """End sessions the clock has ended (past their lifetime, or idle too long) that nobody has
    come back to, so that whatever follows an end (relying parties told by back-channel logout)
    happens without waiting for the browser. The middleware ends the same sessions on sight."""
    at = clock.now()
    idle = at - dt.timedelta(minutes=settings.CIS_SIGNIN_IDLE_MINUTES)
    ended = 0
    for reason, condition in (
        (EndReason.ABSOLUTE, Q(expires_at__lte=at)),
        (EndReason.IDLE, Q(last_seen_at__lte=idle)),
    ):
        with transaction.atomic():
            due = _live().filter(condition).order_by("id").values_list("id", flat=True)[:limit]
            query = _live().filter(condition, pk__in=list(due))
            ended += _end(_lock(query), actor=None, rule=f"ended:{reason}", reason=reason)
    return ended


def expiry_reason(session: SignInSession, at: dt.datetime | None = None) -> str:
    """Why the clock has ended this session, or '' if it is still in force."""
    at = at or clock.now()
    if at >= session.expires_at:
        return EndReason.ABSOLUTE
    if at - session.last_seen_at >= dt.timedelta(minutes=settings.CIS_SIGNIN_IDLE_MINUTES):
        return EndReason.IDLE
    if (
        settings.CIS_SIGNIN_END_ON_CARD_REMOVAL
        and session.method == SignInMethod.SMARTCARD
        and session.last_heartbeat_at is not None
        and (at - session.last_heartbeat_at).total_seconds()
        > 3 * settings.CIS_SIGNIN_HEARTBEAT_SECONDS
    ):
        return EndReason.CARD_REMOVED
    return ""


def session_touch(session: SignInSession) -> None:
    """Seen now: pushes the idle timeout back (written at most once a minute)."""
    at = clock.now()
    SignInSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(last_seen_at=at)
    session.last_seen_at = at


@transaction.atomic
def session_select_role(
    *, actor: Person, session: SignInSession, assignment_id: int
) -> SignInSession:
    """The holder chooses the role they work in; only one of their own active positions."""
    locked = SignInSession.objects.select_for_update().get(pk=session.pk)
    if locked.person_id != actor.pk:
        raise NotPermitted("You can only choose a role for your own sign-in.")
    if locked.ended_at is not None:
        raise InvalidState("Your session has ended: sign in again.")
    assignment = person_roles(actor).filter(pk=assignment_id).first()
    if assignment is None:
        raise ValidationFailed("Choose one of your current roles.", field="assignment")
    before = _session_snapshot(locked)
    locked.selected_assignment = assignment
    locked.selected_at = clock.now()
    locked.save(update_fields=["selected_assignment", "selected_at"])
    record(
        actor=actor,
        rule="own-sign-in",
        action=Action.SESSION_SELECT_ROLE,
        target_type="person",
        target_ref=actor.user_id,
        organisation_ref=assignment.position.organisation.ods_code,
        before=before,
        after=_session_snapshot(locked),
    )
    return locked


def selected_role_still_held(session: SignInSession) -> bool:
    if session.selected_assignment_id is None:
        return False
    return person_roles(session.person).filter(pk=session.selected_assignment_id).exists()


@transaction.atomic
def session_ticket_issue(*, session: SignInSession) -> str:
    """A one-time link secret (60 s) with which a browser takes over a session the agent made."""
    return ticket_create(session)


def ticket_create(session: SignInSession) -> str:
    """session_ticket_issue's work, for callers already inside their own transaction."""
    secret, ticket = ticket_draft()
    ticket_store(ticket, session)
    return secret


def ticket_draft() -> tuple[str, SignInTicket]:
    """A one-time link secret and its ticket, not stored yet (see session_draft for why)."""
    secret = secrets.token_urlsafe(32)
    expires_at = clock.now() + dt.timedelta(seconds=TICKET_SECONDS)
    return secret, SignInTicket(digest=secret_digest(secret), expires_at=expires_at)


def ticket_store(ticket: SignInTicket, session: SignInSession) -> None:
    """Store a drafted ticket for a stored session, inside the caller's transaction."""
    ticket.session = session
    rows.insert(ticket)


@transaction.atomic
def session_ticket_redeem(*, secret: str) -> SignInSession:
    at = clock.now()
    claimed = SignInTicket.objects.filter(
        digest=secret_digest(secret), used_at__isnull=True, expires_at__gt=at
    ).update(used_at=at)
    if claimed != 1:
        raise InvalidState(EXPIRED_ATTEMPT)
    ticket = SignInTicket.objects.select_related("session__person").get(
        digest=secret_digest(secret)
    )
    session = ticket.session
    if session.ended_at is not None or expiry_reason(session, at):
        raise InvalidState("That sign-in has ended: sign in again.")
    return session


def session_bind_browser(*, session: SignInSession, session_key: str) -> None:
    """Remember which browser session carries this sign-in, so ending it signs the browser out."""
    SignInSession.objects.filter(pk=session.pk).update(django_session_key=session_key)
    session.django_session_key = session_key


@transaction.atomic
def session_agent_token_issue(*, session: SignInSession) -> str:
    """A secret for the agent's heartbeats about this session (stored only as a digest)."""
    secret = secrets.token_urlsafe(32)
    SignInSession.objects.filter(pk=session.pk).update(
        agent_token_digest=secret_digest(secret), last_heartbeat_at=clock.now()
    )
    return secret


@transaction.atomic
def session_heartbeat(*, agent_token: str, card_present: bool) -> SignInSession:
    """The agent reports the card is (or is no longer) in the reader.

    Under the card-removal policy, a report that the card is gone ends the session at once.
    """
    session = (
        SignInSession.objects.select_for_update()
        .select_related("person")
        .filter(agent_token_digest=secret_digest(agent_token), ended_at__isnull=True)
        .first()
    )
    if session is None:
        raise InvalidState("This session has ended: sign in again.")
    if expiry_reason(session):
        _end([session], actor=None, rule="timeout", reason=expiry_reason(session))
        raise InvalidState("This session has ended: sign in again.")
    if not card_present and settings.CIS_SIGNIN_END_ON_CARD_REMOVAL:
        _end([session], actor=None, rule="policy:card-removal", reason=EndReason.CARD_REMOVED)
        return session
    session.last_heartbeat_at = clock.now()
    session.save(update_fields=["last_heartbeat_at"])
    return session
