"""Refusals leave a trace like changes do: a log line and an audit event, but never a flood.

A refusal (the policy said no to `require`, a sign-in failed, a one-time code was wrong) happens
inside a transaction that is then rolled back (or, for a wrong code, that counts the attempt), so
its event is not written there: it is written once the request's
answer has been sent (cis.core.context.defer), which also keeps a refused request exactly as fast
as one for something absent. Each actor (or, before sign-in, each client address) gets at most
CIS_REFUSALS_RECORDED_PER_MINUTE refusals recorded one by one in a sliding minute
(cis.core.ratelimit, shared by every worker); the first one over that is recorded as a summary,
and the rest of that minute's are counted in the log only at DEBUG. A scheduled job runs under a
context of its own (`cis jobs run`, cis.core.context.working), so a refusal inside it is audited
when the job ends. Outside both (a console command, a test's call) a refusal is logged, not
audited: no outsider can reach it there.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction

from cis.authz.actions import Action
from cis.core import context, ratelimit
from cis.core.errors import DomainError

from .trail import record

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

ACCESS_REFUSED = Action.ACCESS_REFUSED
SIGN_IN_FAILED = Action.SIGN_IN_FAILED
CODE_FAILED = Action.CODE_FAILED
# The events that record what did not happen: everything else in the trail is a change.
REFUSAL_ACTIONS = (ACCESS_REFUSED, SIGN_IN_FAILED, CODE_FAILED)
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Refusal:
    """What was refused, to whom, and why (the reason the refused person was shown)."""

    kind: Action  # ACCESS_REFUSED, SIGN_IN_FAILED or CODE_FAILED: the audit event's action
    refused: str  # the action refused ("card.unlock_self"), or how they tried to sign in
    reason: str
    actor_ref: str = ""  # a user id; empty when nobody is signed in
    actor_name: str = ""
    target_type: str = ""
    target_ref: str = ""
    subject_ref: str = ""
    detail: tuple[tuple[str, str], ...] = ()  # anything else worth keeping (never a secret)
    rule: str = "refused"  # the audit event's rule: why it did not happen

    @property
    def audit_ref(self) -> str:  # the audit trail's Actor protocol
        return self.actor_ref or "anonymous"

    @property
    def audit_name(self) -> str:
        return self.actor_name or "Not signed in"


def describe(target: Any) -> tuple[str, str]:
    """A policy target as the audit trail names things: (target_type, target_ref)."""
    if target is None:
        return "", ""
    for attribute, kind in (
        ("user_id", "person"),
        ("chip_serial", "smartcard"),
        ("serial_hex", "certificate"),
        ("ods_code", "organisation"),
        ("ref", "request"),
    ):
        value = getattr(target, attribute, None)
        if isinstance(value, str) and value:
            return kind, value
    user_id = getattr(getattr(target, "person", None), "user_id", None)
    if isinstance(user_id, str) and user_id:
        return "person", user_id  # something proposed for a person (a new assignment, a grant)
    return type(target).__name__.lower(), str(getattr(target, "pk", "") or "")


def note(refusal: Refusal) -> None:
    """Log and audit a refusal once the answer has gone; outside a request, only log it."""
    if not context.defer(lambda: _record(refusal)):
        _log(refusal, summary=False)


def wrong_code(*, actor: Any, attempted: Action, reason: str, target: Any) -> None:
    """Note a wrong one-time code (cis.core.codes.check returned WrongCode): a failed attempt
    at `attempted` on `target`, by `actor` (a signed-in person), never with the code itself."""
    target_type, target_ref = describe(target)
    note(
        Refusal(
            kind=CODE_FAILED,
            refused=str(attempted),
            reason=reason,
            actor_ref=str(getattr(actor, "user_id", "") or ""),
            actor_name=str(getattr(actor, "full_name", "") or ""),
            target_type=target_type,
            target_ref=target_ref,
            subject_ref=target_ref if target_type == "person" else "",
            rule="wrong-code",
        )
    )


def records_failed_sign_ins(method: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Note every sign-in of this method that ends in a DomainError (a refusal, a spent
    challenge, an unreadable certificate) as a failed sign-in, with the chip serial it claimed."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def recorded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except DomainError as exc:
                chip = str(kwargs.get("chip_serial") or "").strip()[:64]
                note(
                    Refusal(
                        kind=SIGN_IN_FAILED,
                        refused=method,
                        reason=exc.message,
                        target_type="smartcard" if chip else "",
                        target_ref=chip,
                    )
                )
                raise

        return recorded

    return wrap


def _record(refusal: Refusal) -> None:
    who = refusal.actor_ref or f"address:{context.current().client_address}"
    limit = int(settings.CIS_REFUSALS_RECORDED_PER_MINUTE)
    if ratelimit.hit(f"refusal:{who}", limit=limit, window_seconds=WINDOW_SECONDS).allowed:
        _log(refusal, summary=False)
        _audit(refusal, summary=False)
    elif ratelimit.hit(f"refusal-summary:{who}", limit=1, window_seconds=WINDOW_SECONDS).allowed:
        _log(refusal, summary=True)
        _audit(refusal, summary=True)
    else:
        logger.debug("refusal not recorded: %s's limit is spent", refusal.audit_ref)


def _log(refusal: Refusal, *, summary: bool) -> None:
    logger.warning(
        "%s: %s %s%s",
        refusal.kind,
        refusal.audit_ref,
        refusal.refused,
        " (more than the limit this minute; the rest are not recorded one by one)"
        if summary
        else "",
        extra={
            "refused": refusal.refused,
            "actor": refusal.audit_ref,
            "target": f"{refusal.target_type}:{refusal.target_ref}" if refusal.target_type else "",
            "reason": refusal.reason,
        },
    )


def _audit(refusal: Refusal, *, summary: bool) -> None:
    after: dict[str, Any] = {"refused": refusal.refused, "reason": refusal.reason}
    after.update(dict(refusal.detail))
    if summary:
        after["summary"] = (
            f"More than {settings.CIS_REFUSALS_RECORDED_PER_MINUTE} refusals in a minute; the "
            "rest of this minute's are not recorded one by one."
        )
    with transaction.atomic():
        record(
            actor=refusal,
            rule="rate-limit:summary" if summary else refusal.rule,
            action=refusal.kind,
            target_type=refusal.target_type,
            target_ref=refusal.target_ref,
            subject_ref=refusal.subject_ref,
            after=after,
        )
