"""Every change to a smartcard, each in one transaction with its policy check and audit event."""

from .agent import agent_challenge_create, agent_sign_in, agent_sign_out, agent_token_person
from .cancel import card_cancel, card_report_lost, end_card_sessions
from .common import Released
from .issue import card_clear, card_issue, card_repair, card_replace
from .operations import card_certificate_request, card_operation_complete
from .renew import card_renew
from .unlock import (
    CodeSent,
    card_lock_report,
    card_presented,
    card_report_locked,
    card_self_unlock_send_code,
    card_self_unlock_verify,
    card_unlock_assisted,
)

__all__ = [
    "CodeSent",
    "Released",
    "agent_challenge_create",
    "agent_sign_in",
    "agent_sign_out",
    "agent_token_person",
    "card_cancel",
    "card_certificate_request",
    "card_clear",
    "card_issue",
    "card_lock_report",
    "card_operation_complete",
    "card_presented",
    "card_renew",
    "card_repair",
    "card_replace",
    "card_report_locked",
    "card_report_lost",
    "card_self_unlock_send_code",
    "card_self_unlock_verify",
    "card_unlock_assisted",
    "end_card_sessions",
]
