"""Card tasks: the portal asks the workstation agent to do one thing with one card, once.

A person signed in to the portal starts a task (renew, change the passcode, unlock, issue,
replace). The policy decides then, and again when the agent claims it. The page receives the
task's reference and a one-time secret and hands both to the agent on the same computer; the
agent shows the person what it is about to do, asks for the passcode itself, and claims the task
with the chip serial of the card in its reader. The claim works once, before the task expires,
while the browser session that asked is still signed in, and only for the card the task names
(a blank card, to issue or replace). Claiming starts the card operation, whose later steps the
agent continues with the operation's own secret; the agent then says how it went.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision, require
from cis.authz.targets import CardStep
from cis.core import clock
from cis.core.digests import secret_digest
from cis.core.errors import InvalidState, NotFound, NotPermitted, ValidationFailed
from cis.people.models import Person
from cis.signin.models import SignInSession

from ..models import CardTask, Smartcard
from ..states import ON_BLANK_CARD, CancelReason, CardStatus, TaskKind
from .common import Released, current_link, lock_card, organisation_ref, require_live
from .issue import card_issue, card_replace
from .renew import card_renew
from .unlock import card_unlock_assisted

UNUSABLE = "This card task cannot be used: it is unknown, already used or expired. Start it again."
ACTIONS = {
    TaskKind.RENEW: Action.CARD_RENEW,
    TaskKind.CHANGE_PASSCODE: Action.CARD_CHANGE_PASSCODE,
    TaskKind.SELF_UNLOCK: Action.CARD_UNLOCK_SELF,
    TaskKind.UNLOCK: Action.CARD_UNLOCK_ASSISTED,
    TaskKind.ISSUE: Action.CARD_ISSUE,
    TaskKind.REPLACE: Action.CARD_REPLACE,
}
# The step a person asks for, in the audit trail's sentence ("asked the card agent to ...").
WORDING = {
    TaskKind.RENEW: "renew the certificate",
    TaskKind.CHANGE_PASSCODE: "change the passcode",
    TaskKind.SELF_UNLOCK: "unlock with a one-time code",
    TaskKind.UNLOCK: "unlock, with the holder present",
    TaskKind.ISSUE: "issue a new card",
    TaskKind.REPLACE: "replace",
}


def task_lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=int(settings.CIS_CARD_TASK_SECONDS))


@dataclass(frozen=True)
class StartedTask:
    task: CardTask
    secret: str


def _action(kind: TaskKind, card: Smartcard | None) -> Action:
    """The action a task takes; renewing an expired certificate is the RA Agent's alone."""
    if kind == TaskKind.RENEW and card is not None:
        link = current_link(card)
        if link is not None and link.certificate.not_after <= clock.now():
            return Action.CARD_RENEW_EXPIRED
    return ACTIONS[kind]


def _check_startable(kind: TaskKind, card: Smartcard | None) -> None:
    """Refuse at once what the agent would only find out later."""
    if card is None:
        return
    if kind != TaskKind.REPLACE:
        require_live(card)
    if kind in (TaskKind.UNLOCK, TaskKind.SELF_UNLOCK) and card.status != CardStatus.LOCKED:
        raise InvalidState("This card is not locked; there is nothing to unlock.")
    if kind in (TaskKind.RENEW, TaskKind.CHANGE_PASSCODE) and card.status != CardStatus.ACTIVE:
        raise InvalidState(
            f"This card is {card.get_status_display().lower()}; it must be active for that."
        )


def _audit(*, actor: Actor, decision: Decision, task: CardTask, step: str, **after: Any) -> None:
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.CARD_TASK,
        target_type="smartcard",
        target_ref=task.card.chip_serial if task.card else "",
        organisation_ref=organisation_ref(task.holder),
        subject_ref=task.holder.user_id,
        after={
            "task": task.ref,
            "kind": task.kind,
            "detail": WORDING[TaskKind(task.kind)],
            "step": step,
            **after,
        },
    )


@transaction.atomic
def card_task_start(
    *,
    actor: Person,
    kind: str,
    signin_session_ref: str,
    card: Smartcard | None = None,
    holder: Person | None = None,
    reason: str = "",
) -> StartedTask:
    """A new task for the agent, bound to the browser session that asked for it."""
    if kind not in TaskKind.values:
        raise ValidationFailed(f"'{kind}' is not a card task.", field="kind")
    task_kind = TaskKind(kind)
    if not signin_session_ref:
        raise NotPermitted("Sign in again: this browser has no sign-in session.")
    if card is not None:
        card = lock_card(card)
        holder = card.holder
    elif task_kind != TaskKind.ISSUE:
        raise ValidationFailed("Say which card the task is for.", field="card")
    if holder is None:
        raise ValidationFailed("Say whom the new card is for.", field="holder")
    decision = require(actor, Action.CARD_TASK, CardStep(_action(task_kind, card), holder))
    _check_startable(task_kind, card)
    params: dict[str, str] = {}
    if task_kind == TaskKind.REPLACE:
        if reason not in CancelReason.values:
            raise ValidationFailed(
                f"Choose why the card is being replaced: {', '.join(CancelReason.values)}.",
                field="reason",
            )
        params["reason"] = reason
    secret = secrets.token_urlsafe(32)
    task = CardTask.objects.create(
        ref=secrets.token_hex(16),
        secret_digest=secret_digest(secret),
        kind=task_kind,
        card=card,
        holder=holder,
        actor=actor,
        signin_session_ref=signin_session_ref,
        params=params,
        expires_at=clock.now() + task_lifetime(),
    )
    _audit(actor=actor, decision=decision, task=task, step="started")
    return StartedTask(task=task, secret=secret)


def _usable(ref: str, secret: str, *, for_update: bool) -> CardTask:
    """The task, if the secret is right, it is unclaimed and unexpired, and its session lives.

    Every way of failing gets the same answer, so the agent (or whoever is probing it) learns
    nothing about which tasks exist.
    """
    query = CardTask.objects.select_related("card", "card__holder", "holder", "actor")
    if for_update:
        # Only the task's row: PostgreSQL cannot lock the nullable side of the join to its card.
        query = query.select_for_update(of=("self",))
    task = query.filter(ref=ref).first()
    expected = task.secret_digest if task is not None else secret_digest("")
    right = hmac.compare_digest(secret_digest(secret), expected)
    if task is None or not right or task.claimed_at is not None or task.expires_at <= clock.now():
        raise NotFound(UNUSABLE)
    session = SignInSession.objects.filter(ref=task.signin_session_ref).first()
    if (
        session is None
        or session.ended_at is not None
        or session.expires_at <= clock.now()
        or session.person_id != task.actor_id
    ):
        raise NotFound(UNUSABLE)
    return task


def card_task_describe(*, ref: str, secret: str) -> CardTask:
    """What the agent shows the person before they confirm; changes nothing."""
    return _usable(ref, secret, for_update=False)


@dataclass(frozen=True)
class ClaimedTask:
    task: CardTask
    released: Released | None  # the card operation started, for kinds that need CIS's part


def card_task_claim(*, ref: str, secret: str, chip_serial: str) -> ClaimedTask:
    """The agent takes the task for the card in its reader: once, for that card only."""
    with transaction.atomic():
        task = _usable(ref, secret, for_update=True)
        kind = TaskKind(task.kind)
        chip = chip_serial.strip()
        if kind not in ON_BLANK_CARD and (task.card is None or task.card.chip_serial != chip):
            raise NotPermitted(
                "The card in the reader is not the card this task is for; nothing was changed."
            )
        actor: Person = task.actor
        decision = require(actor, Action.CARD_TASK, CardStep(ACTIONS[kind], task.holder))
        released = _start_operation(task, kind, chip)
        task.claimed_at = clock.now()
        task.claimed_chip = chip
        if released is not None:
            # The agent continues the operation with this secret: it has no sign-in of its own.
            released.secret = secrets.token_urlsafe(32)
            released.operation.secret_digest = secret_digest(released.secret)
            released.operation.save(update_fields=["secret_digest", "updated_at"])
            task.operation = released.operation
            if task.card is None:
                task.card = released.operation.card
        task.save(update_fields=["claimed_at", "claimed_chip", "operation", "card", "updated_at"])
        _audit(actor=actor, decision=decision, task=task, step="claimed", chip_serial=chip)
    return ClaimedTask(task=task, released=released)


def _start_operation(task: CardTask, kind: TaskKind, chip: str) -> Released | None:
    actor: Person = task.actor
    if kind == TaskKind.RENEW:
        assert task.card is not None  # noqa: S101 - checked by the claim
        return card_renew(actor=actor, card=task.card, holder_present=True)
    if kind == TaskKind.UNLOCK:
        assert task.card is not None  # noqa: S101
        return card_unlock_assisted(actor=actor, card=task.card, holder_present=True)
    if kind == TaskKind.ISSUE:
        return card_issue(actor=actor, holder=task.holder, chip_serial=chip, holder_present=True)
    if kind == TaskKind.REPLACE:
        assert task.card is not None  # noqa: S101
        return card_replace(
            actor=actor,
            card=task.card,
            new_chip_serial=chip,
            reason=str(task.params.get("reason", "")),
            holder_present=True,
        )
    # A passcode change happens on the card alone; a self-unlock goes on with the code.
    return None


OUTCOMES = ("done", "failed")


@transaction.atomic
def card_task_finish(*, ref: str, secret: str, outcome: str, detail: str = "") -> CardTask:
    """The agent says how the task went (the card operation has recorded what changed)."""
    if outcome not in OUTCOMES:
        raise ValidationFailed("The outcome is done or failed.", field="outcome")
    task = (
        CardTask.objects.select_for_update(of=("self",))
        .select_related("card", "holder", "actor")
        .filter(ref=ref)
        .first()
    )
    if task is None or not hmac.compare_digest(secret_digest(secret), task.secret_digest):
        raise NotFound(UNUSABLE)
    if task.claimed_at is None:
        raise InvalidState("This task has not been claimed by an agent.")
    if task.finished_at is not None:
        return task
    task.finished_at = clock.now()
    task.outcome = outcome
    task.detail = detail[:300]
    task.save(update_fields=["finished_at", "outcome", "detail", "updated_at"])
    actor: Person = task.actor
    # For a passcode change this is CIS's only record of it: CIS never learns the passcode.
    decision = require(actor, Action.CARD_TASK, CardStep(ACTIONS[TaskKind(task.kind)], task.holder))
    _audit(actor=actor, decision=decision, task=task, step="finished", outcome=outcome)
    return task
