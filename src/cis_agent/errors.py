"""Every way an agent command can fail, each with its exit status (documented in the README)."""

from __future__ import annotations

from cis_card.base import (
    CardBlocked,
    CardError,
    CardLocked,
    PasscodeRejected,
    WrongPasscode,
)
from cis_wire.errors import SIGNED_OUT, WRONG_CODE

OK = 0
FAILED = 1  # anything unexpected
USAGE = 2  # click's own status for a bad command line
NOT_SIGNED_IN = 3
WRONG_SECRET = 4  # wrong passcode or wrong one-time code
CARD_LOCKED = 5
CARD_PROBLEM = 6  # no card, card removed, not issued, SO PIN refused or blocked
REFUSED = 7  # the policy does not allow it
NOT_NOW = 8  # not in the card's current state: outside the renewal window, cancelled, unknown
SERVER_DOWN = 9
BAD_INPUT = 10  # the server or the passcode rules rejected the input
RATE_LIMITED = 11

EXIT_STATUSES = {
    OK: "success",
    FAILED: "unexpected failure",
    USAGE: "bad command line",
    NOT_SIGNED_IN: "not signed in, or the sign-in was refused or has expired",
    WRONG_SECRET: "wrong passcode or wrong one-time code",
    CARD_LOCKED: "the card is locked",
    CARD_PROBLEM: "no card, card removed, card not issued, or administrator PIN refused",
    REFUSED: "CIS's policy does not allow this",
    NOT_NOW: "not possible now (renewal window, cancelled card, unknown card, step timed out)",
    SERVER_DOWN: "CIS could not be reached or failed",
    BAD_INPUT: "the input broke a rule (passcode length, chip serial, reason...)",
    RATE_LIMITED: "too many attempts; try again later",
}


class AgentError(Exception):
    """A failure with a one-line reason and an exit status."""

    def __init__(self, message: str, status: int = FAILED, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def from_card_error(exc: CardError) -> AgentError:
    if isinstance(exc, WrongPasscode):
        return AgentError(str(exc), WRONG_SECRET)
    if isinstance(exc, CardLocked):
        return AgentError(str(exc), CARD_LOCKED)
    if isinstance(exc, PasscodeRejected):
        return AgentError(str(exc), BAD_INPUT)
    if isinstance(exc, CardBlocked):
        return AgentError(str(exc), CARD_PROBLEM)
    return AgentError(str(exc), CARD_PROBLEM)


HTTP_STATUS = {
    400: BAD_INPUT,
    401: NOT_SIGNED_IN,
    403: REFUSED,
    404: NOT_NOW,
    409: NOT_NOW,
    429: RATE_LIMITED,
}


def from_http(status_code: int, code: str, detail: str) -> AgentError:
    if code in SIGNED_OUT:
        return AgentError(detail or "Sign in first: cis-agent login.", NOT_SIGNED_IN, code=code)
    if code == WRONG_CODE:
        return AgentError(detail, WRONG_SECRET, code=code)
    if status_code >= 500:
        return AgentError(f"CIS failed ({status_code}); try again later.", SERVER_DOWN, code=code)
    return AgentError(
        detail or f"CIS refused ({status_code}).", HTTP_STATUS.get(status_code, FAILED), code=code
    )
