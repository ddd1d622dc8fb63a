"""Every change to a request: raise, approve (and apply), reject, cancel, escalate, fulfil."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, decide, require
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, ValidationFailed
from cis.people.models import Person

from . import notifications
from .apply import ApplyContext, IdentityEvidence, Outcome, apply_request, check_still_applicable
from .approval_policy import policy_for
from .due import add_working_days
from .models import Escalation, Request, RequestApproval, RequestEvent
from .payloads import prepare
from .states import (
    CARD_TYPES,
    OPEN,
    EscalationLevel,
    EventKind,
    RequestState,
    RequestType,
    check_transition,
)

REASON_LIMIT = 1000


def snapshot(request: Request) -> dict[str, Any]:
    return {
        "ref": request.ref,
        "type": request.request_type,
        "state": request.state,
        "subject": request.subject.user_id if request.subject else None,
        "organisation": request.organisation.ods_code if request.organisation else None,
        "ra": request.ra.code,
        "escalation_level": request.escalation_level,
        "payload": request.payload,
        "assigned_to": request.assigned_to.user_id if request.assigned_to else None,
        "decision_reason": request.decision_reason,
    }


def audit_request(
    actor: Actor | None, rule: str, action: Action, request: Request, before: Any
) -> None:
    record(
        actor=actor,
        rule=rule,
        action=action,
        target_type="request",
        target_ref=request.ref,
        organisation_ref=request.organisation.ods_code if request.organisation else "",
        before=before or {},
        after=snapshot(request),
        request_ref=request.ref,
    )


def _person(actor: Actor | None) -> Person | None:
    return actor if isinstance(actor, Person) else None


def _name(actor: Actor | None) -> str:
    if actor is None:
        return "CIS (schedule)"
    if isinstance(actor, Person):
        return actor.full_name
    return str(actor)


def add_event(
    request: Request,
    kind: EventKind,
    actor: Actor | None,
    *,
    from_state: str = "",
    note: str = "",
) -> RequestEvent:
    return RequestEvent.objects.create(
        request=request,
        at=clock.now(),
        kind=kind,
        actor=_person(actor),
        actor_name=_name(actor),
        from_state=from_state,
        to_state=request.state,
        note=note[:REASON_LIMIT],
    )


def _locked(request: Request) -> Request:
    """Lock the row, then read it and its neighbours afresh.

    The lock is taken by a query without joins: on PostgreSQL a waiter re-reads only the locked
    row once the lock is free, so joined rows (who decided it) would still be the stale ones.
    """
    list(Request.objects.select_for_update().filter(pk=request.pk).values_list("pk"))
    return Request.objects.select_related(
        "subject", "organisation", "ra", "raised_by", "decided_by", "assigned_to"
    ).get(pk=request.pk)


def _clean(text: str, *, what: str, field: str, required: bool) -> str:
    cleaned = " ".join((text or "").split())
    if required and not cleaned:
        raise ValidationFailed(f"Give {what}.", field=field)
    if len(cleaned) > REASON_LIMIT:
        raise ValidationFailed(
            f"The {field} is too long (at most {REASON_LIMIT} characters).", field=field
        )
    return cleaned


def close_escalations(request: Request) -> None:
    label = RequestState(request.state).label.lower()
    Escalation.objects.filter(request=request, closed_at__isnull=True).update(
        closed_at=clock.now(), outcome=f"Request {label}"
    )


def _same_open_request(request: Request) -> Request | None:
    candidates = Request.objects.filter(
        request_type=request.request_type, state__in=list(OPEN), subject=request.subject
    )
    if request.request_type == RequestType.PERSON_REGISTER:
        candidates = candidates.filter(organisation=request.organisation)
    keys = {k: v for k, v in request.payload.items() if k not in ("reason", "before")}
    for other in candidates:
        if {k: v for k, v in other.payload.items() if k not in ("reason", "before")} == keys:
            return other
    return None


@transaction.atomic
def request_raise(
    *, actor: Actor, request_type: str, payload: Mapping[str, Any], note: str = ""
) -> Request:
    """Put a request in the RA's queue, due in working days, and tell the queue."""
    require(actor, Action.REQUEST_RAISE)  # no right to raise anything: say so before looking
    prepared = prepare(actor=actor, request_type=request_type, data=payload)
    note = _clean(note, what="a note", field="note", required=False)
    now = clock.now()
    policy = policy_for(request_type)
    request = Request(
        request_type=request_type,
        subject=prepared.subject,
        organisation=prepared.organisation,
        ra=prepared.ra,
        payload=prepared.payload.to_json(),
        note=note,
        raised_by=_person(actor),
        raised_at=now,
        due_at=add_working_days(now, settings.CIS_REQUEST_DUE_WORKING_DAYS),
        approvals_needed=policy.approvals_needed,
        approver_rights=policy.approver_rights,
    )
    decision = require(actor, Action.REQUEST_RAISE, request)
    duplicate = _same_open_request(request)
    if duplicate is not None:
        raise Conflict(f"{duplicate.ref} already asks for this and is still open.")
    request.save()
    add_event(request, EventKind.RAISED, actor, note=note)
    audit_request(actor, decision.rule, Action.REQUEST_RAISE, request, None)
    notifications.request_raised(request)
    return request


def request_approve(
    *,
    actor: Actor,
    request: Request,
    note: str = "",
    identity: IdentityEvidence | None = None,
    acknowledged_duplicates: Sequence[str] = (),
    partial_reason: str = "",
) -> Request:
    """Approve; the last approval needed applies the change in the same transaction.

    An approval that would leave out part of what was asked (a registration's position, say) is
    refused naming what is missing, unless `partial_reason` says why it is approved in part.

    The request row is locked first, so of two agents approving at once the second waits, then
    finds the request already applied and is told so; nothing is applied twice.
    """
    with transaction.atomic():
        request = _locked(request)
        decision = require(actor, Action.REQUEST_APPROVE, request)
        final_state = (
            RequestState.APPROVED if request.request_type in CARD_TYPES else RequestState.APPLIED
        )
        check_transition(request.state, final_state, ref=request.ref, closed_by=_decider(request))
        note = _clean(note, what="a note", field="note", required=False)
        partial_reason = _clean(
            partial_reason, what="the reason", field="partial_reason", required=False
        )
        approver = _person(actor)
        if approver is not None and request.approvals.filter(approver=approver).exists():
            raise Conflict(
                f"You have already approved {request.ref}; it needs "
                f"{request.approvals_needed} different approvers."
            )
        check_still_applicable(request)
        before = snapshot(request)
        now = clock.now()
        if approver is not None:
            RequestApproval.objects.create(request=request, approver=approver, at=now)
        given = request.approvals.count() if approver is not None else request.approvals_needed
        if given < request.approvals_needed:
            add_event(
                request,
                EventKind.APPROVAL,
                actor,
                from_state=request.state,
                note=note
                or f"Approval {given} of {request.approvals_needed}: waiting for "
                f"{request.approvals_needed - given} more.",
            )
            audit_request(actor, decision.rule, Action.REQUEST_APPROVE, request, before)
            return request
        previous = request.state
        outcome = apply_request(
            ApplyContext(
                actor=actor,
                request=request,
                identity=identity,
                acknowledged_duplicates=acknowledged_duplicates,
                partial_reason=partial_reason,
            )
        )
        if outcome.dropped:
            request.decision_reason = partial_reason
            add_event(
                request,
                EventKind.PARTIAL,
                actor,
                from_state=request.state,
                note=f"Left out: {'; '.join(outcome.dropped)}. Reason: {partial_reason}",
            )
        _finish_approval(
            request,
            actor=actor,
            outcome=outcome,
            final_state=final_state,
            previous=previous,
            note=note,
        )
        audit_request(actor, decision.rule, Action.REQUEST_APPROVE, request, before)
        notifications.request_decided(request)
    return request


def _decider(request: Request) -> str:
    return request.decided_by.full_name if request.decided_by else ""


def _finish_approval(
    request: Request,
    *,
    actor: Actor,
    outcome: Outcome,
    final_state: RequestState,
    previous: str,
    note: str,
) -> None:
    now = clock.now()
    if outcome.subject is not None and request.subject is None:
        request.subject = outcome.subject
    request.state = final_state
    request.decided_by = _person(actor)
    request.decided_at = now
    request.result_ref = outcome.result_ref
    if final_state == RequestState.APPLIED:
        request.applied_at = now
        request.closed_at = now
    request.save()
    add_event(request, EventKind.APPROVED, actor, from_state=previous, note=note)
    summary = " ".join([outcome.summary, *outcome.follow_up])
    kind = EventKind.APPLIED if final_state == RequestState.APPLIED else EventKind.NOTE
    add_event(request, kind, actor, from_state=final_state, note=summary)
    close_escalations(request)


@transaction.atomic
def request_reject(*, actor: Actor, request: Request, reason: str) -> Request:
    request = _locked(request)
    decision = require(actor, Action.REQUEST_REJECT, request)
    check_transition(
        request.state, RequestState.REJECTED, ref=request.ref, closed_by=_decider(request)
    )
    reason = _clean(reason, what="the reason for rejecting it", field="reason", required=True)
    before = snapshot(request)
    previous = request.state
    now = clock.now()
    request.state = RequestState.REJECTED
    request.decided_by = _person(actor)
    request.decided_at = now
    request.decision_reason = reason
    request.closed_at = now
    request.save()
    add_event(request, EventKind.REJECTED, actor, from_state=previous, note=reason)
    close_escalations(request)
    audit_request(actor, decision.rule, Action.REQUEST_REJECT, request, before)
    notifications.request_decided(request)
    return request


@transaction.atomic
def request_cancel(*, actor: Actor, request: Request, reason: str = "") -> Request:
    """Withdraw a request (its raiser) or cancel one nobody should act on (RA staff)."""
    request = _locked(request)
    decision = require(actor, Action.REQUEST_CANCEL, request)
    check_transition(
        request.state, RequestState.CANCELLED, ref=request.ref, closed_by=_decider(request)
    )
    reason = _clean(reason, what="a reason", field="reason", required=False)
    before = snapshot(request)
    previous = request.state
    now = clock.now()
    request.state = RequestState.CANCELLED
    request.decided_by = _person(actor)
    request.decided_at = now
    request.decision_reason = reason
    request.closed_at = now
    request.save()
    add_event(request, EventKind.CANCELLED, actor, from_state=previous, note=reason)
    close_escalations(request)
    audit_request(actor, decision.rule, Action.REQUEST_CANCEL, request, before)
    notifications.request_decided(request)
    return request


def escalate(request: Request, *, actor: Actor | None, reason: str) -> Escalation:
    """Move a locked, open request one level up: RA Manager, then the service desk."""
    level = EscalationLevel(request.escalation_level + 1)
    now = clock.now()
    previous = request.state
    check_transition(previous, RequestState.ESCALATED, ref=request.ref)
    escalation = Escalation.objects.create(
        request=request, level=level, raised_by=_person(actor), reason=reason, raised_at=now
    )
    request.state = RequestState.ESCALATED
    request.escalation_level = level
    request.escalated_at = now
    request.due_at = add_working_days(now, settings.CIS_REQUEST_ESCALATION_WORKING_DAYS)
    request.save()
    add_event(
        request,
        EventKind.ESCALATED,
        actor,
        from_state=previous,
        note=f"To the {level.label}: {reason}",
    )
    notifications.request_escalated(request, level=level, reason=reason)
    return escalation


@transaction.atomic
def request_escalate(*, actor: Actor, request: Request, reason: str) -> Escalation:
    """Escalate by hand ("my RA has not responded"): to the RA Manager, then the service desk."""
    request = _locked(request)
    decision = require(actor, Action.REQUEST_ESCALATE, request)
    if request.state not in OPEN:
        check_transition(
            request.state, RequestState.ESCALATED, ref=request.ref, closed_by=_decider(request)
        )
    reason = _clean(reason, what="the reason for escalating", field="reason", required=True)
    if request.escalation_level >= EscalationLevel.SERVICE_DESK:
        raise InvalidState(f"{request.ref} is already with the service desk, the last level.")
    if request.escalation_level == EscalationLevel.RA_MANAGER and clock.now() < request.due_at:
        raise InvalidState(
            f"{request.ref} is already with the RA Manager. If they have not answered by "
            f"{notifications.when(request.due_at)}, you can take it to the service desk."
        )
    before = snapshot(request)
    escalation = escalate(request, actor=actor, reason=reason)
    audit_request(actor, decision.rule, Action.REQUEST_ESCALATE, request, before)
    return escalation


@transaction.atomic
def request_comment(*, actor: Actor, request: Request, text: str) -> RequestEvent:
    """Add a comment to the request's history (a question, an answer, what was found)."""
    request = _locked(request)
    decision = require(actor, Action.REQUEST_COMMENT, request)
    text = _clean(text, what="the comment", field="text", required=True)
    before = snapshot(request)
    event = add_event(request, EventKind.COMMENT, actor, from_state=request.state, note=text)
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.REQUEST_COMMENT,
        target_type="request",
        target_ref=request.ref,
        organisation_ref=request.organisation.ods_code if request.organisation else "",
        before=before,
        after={**snapshot(request), "comment": text},
        request_ref=request.ref,
    )
    notifications.request_commented(request, event=event)
    return event


@transaction.atomic
def request_reassign(*, actor: Actor, request: Request, agent: Person, note: str = "") -> Request:
    """Hand an open request to one RA Agent, who can decide it; its open escalation closes."""
    request = _locked(request)
    decision = require(actor, Action.REQUEST_REASSIGN, request)
    if request.state not in OPEN:
        check_transition(
            request.state, RequestState.SUBMITTED, ref=request.ref, closed_by=_decider(request)
        )
    note = _clean(note, what="a note", field="note", required=False)
    approve = decide(agent, Action.REQUEST_APPROVE, request)
    if not approve.allowed:
        raise ValidationFailed(
            f"{agent.full_name} cannot approve {request.ref}: {approve.reason}", field="agent"
        )
    before = snapshot(request)
    previous = request.state
    now = clock.now()
    request.assigned_to = agent
    request.state = RequestState.SUBMITTED
    request.due_at = add_working_days(now, settings.CIS_REQUEST_DUE_WORKING_DAYS)
    request.save()
    outcome = f"Reassigned to {agent.full_name} by {_name(actor)}"
    Escalation.objects.filter(request=request, closed_at__isnull=True).update(
        closed_at=now, outcome=outcome[:200]
    )
    add_event(
        request,
        EventKind.REASSIGNED,
        actor,
        from_state=previous,
        note=f"To {agent.full_name} ({agent.user_id})" + (f": {note}" if note else "."),
    )
    audit_request(actor, decision.rule, Action.REQUEST_REASSIGN, request, before)
    notifications.request_reassigned(request, agent=agent, note=note)
    return request


def request_fulfil(*, actor: Actor, request: Request, result_ref: str, note: str = "") -> Request:
    """Mark an approved card request applied: called by the card operation that carried it out,
    inside that operation's transaction, so the request and the card change together."""
    with transaction.atomic():
        request = _locked(request)
        decision = require(actor, Action.REQUEST_FULFIL, request)
        if request.request_type not in CARD_TYPES:
            raise InvalidState(f"{request.ref} is not a card request.")
        check_transition(
            request.state, RequestState.APPLIED, ref=request.ref, closed_by=_decider(request)
        )
        if request.state != RequestState.APPROVED:
            raise InvalidState(
                f"{request.ref} has not been approved yet, so no card can be issued for it."
            )
        before = snapshot(request)
        now = clock.now()
        request.state = RequestState.APPLIED
        request.applied_at = now
        request.closed_at = now
        request.result_ref = result_ref[:80]
        request.save()
        add_event(
            request,
            EventKind.APPLIED,
            actor,
            from_state=RequestState.APPROVED,
            note=note or f"Done ({result_ref}).",
        )
        close_escalations(request)
        audit_request(actor, decision.rule, Action.REQUEST_FULFIL, request, before)
        notifications.request_decided(request)
    return request


# Which approved request each kind of card operation carries out, most fitting first.
FULFILLED_BY = {
    "issue": (RequestType.CARD_ISSUE, RequestType.CARD_REPLACE),
    "replace": (RequestType.CARD_REPLACE, RequestType.CARD_ISSUE),
    "renew_expired": (RequestType.CARD_RENEW,),
}


def card_authorisation(*, person: Person, operation: str = "issue") -> Request | None:
    """The approved card request for a person that a card operation of this kind fulfils.

    `operation` is `issue` (a new card), `replace` (a card in place of another) or
    `renew_expired` (an RA Agent renewing an expired certificate); the oldest approved request of
    the most fitting type comes first.
    """
    types = FULFILLED_BY[operation]
    found = {
        r.request_type: r
        for r in Request.objects.filter(
            subject=person, state=RequestState.APPROVED, request_type__in=list(types)
        )
        .select_related("subject", "organisation", "ra")
        .order_by("-decided_at", "-id")
    }
    return next((found[t] for t in types if t in found), None)
