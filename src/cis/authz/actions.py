"""Every action CIS knows; no permission string appears anywhere else."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    PERSON_VIEW = "person.view"
    PERSON_SEARCH = "person.search"
    PERSON_CREATE = "person.create"
    PERSON_UPDATE_DETAILS = "person.update_details"
    PERSON_UPDATE_CONTACT = "person.update_contact"
    PERSON_CONFIRM_CONTACT = "person.confirm_contact"
    PERSON_VERIFY_IDENTITY = "person.verify_identity"
    PERSON_CLOSE = "person.close"
    PERSON_REOPEN = "person.reopen"

    ORGANISATION_VIEW = "organisation.view"
    ORGANISATION_CREATE = "organisation.create"
    ORGANISATION_UPDATE = "organisation.update"
    ORGANISATION_CLOSE = "organisation.close"
    ORGANISATION_REOPEN = "organisation.reopen"
    # Under another parent organisation (and, for the service desk, to another RA).
    ORGANISATION_MOVE = "organisation.move"
    RA_MANAGE = "ra.manage"
    CATALOGUE_VIEW = "catalogue.view"
    CATALOGUE_MANAGE = "catalogue.manage"
    # Bulk imports of organisations (ODS) and of people and positions (ESR): the service desk.
    IMPORT_RUN = "import.run"

    POSITION_VIEW = "position.view"
    POSITION_CREATE = "position.create"
    POSITION_UPDATE = "position.update"
    POSITION_RETIRE = "position.retire"
    ASSIGNMENT_VIEW = "assignment.view"
    ASSIGNMENT_CREATE = "assignment.create"
    ASSIGNMENT_END = "assignment.end"

    RIGHT_VIEW = "right.view"
    RIGHT_GRANT = "right.grant"
    RIGHT_REVOKE = "right.revoke"

    AUDIT_VIEW = "audit.view"
    # Reports (cis.reports): figures about the people and organisations in the viewer's scope.
    REPORT_VIEW = "report.view"

    # Workflow (requests to the RA, issue 6)
    REQUEST_RAISE = "request.raise"
    REQUEST_VIEW = "request.view"
    REQUEST_APPROVE = "request.approve"
    REQUEST_REJECT = "request.reject"
    REQUEST_CANCEL = "request.cancel"
    REQUEST_ESCALATE = "request.escalate"
    # An open request past its time limit, closed by the scheduler (no person decides it).
    REQUEST_EXPIRE = "request.expire"
    # Mark an approved card request applied: done by the card operation that carries it out.
    REQUEST_FULFIL = "request.fulfil"
    # Add a comment to a request's history (RA staff, the service desk, its raiser and subject).
    REQUEST_COMMENT = "request.comment"
    # Hand a request to a named RA Agent (RA Managers; the service desk for its escalations).
    REQUEST_REASSIGN = "request.reassign"
    # How many approvers each type of request needs, and with which rights (the service desk).
    APPROVAL_POLICY_MANAGE = "approval_policy.manage"

    # Smartcards (issue 4): the target is always the card's holder (a Person).
    CARD_VIEW = "card.view"
    CARD_ISSUE = "card.issue"
    CARD_REPORT_LOCKED = "card.report_locked"
    CARD_UNLOCK_ASSISTED = "card.unlock_assisted"
    CARD_UNLOCK_SELF = "card.unlock_self"
    CARD_CHANGE_PASSCODE = "card.change_passcode"
    CARD_RENEW = "card.renew"
    CARD_RENEW_EXPIRED = "card.renew_expired"
    CARD_REPORT_LOSS = "card.report_loss"
    CARD_CANCEL = "card.cancel"
    CARD_REPAIR = "card.repair"
    CARD_CLEAR = "card.clear"
    CARD_REPLACE = "card.replace"
    # A task the portal hands to the workstation agent: decided as the card action it carries
    # (targets.CardStep).
    CARD_TASK = "card.task"
    # The workstation agent signs in with a card (a signature over a challenge) and out again.
    AGENT_SIGN_IN = "agent.sign_in"
    AGENT_SIGN_OUT = "agent.sign_out"

    # Sign-in (issue 5): the target is the person whose sessions or authenticators they are.
    SESSION_VIEW = "session.view"
    # A sign-in (its proof is the card's or the key's signature, not a right), a role chosen
    # for it, and the flag raised when one card is live at two workstations.
    SESSION_START = "session.start"
    SESSION_SELECT_ROLE = "session.select_role"
    SESSION_FLAG_SHARED_CARD = "session.flag_shared_card"
    SESSION_END = "session.end"
    AUTHENTICATOR_REGISTER = "authenticator.register"
    AUTHENTICATOR_REVOKE = "authenticator.revoke"
    OIDC_CLIENT_MANAGE = "oidc_client.manage"

    # PKI (issue 3): the target is the certificate, or its holder (a Person) when issuing.
    CERTIFICATE_VIEW = "certificate.view"
    CERTIFICATE_ISSUE = "certificate.issue"
    CERTIFICATE_REVOKE = "certificate.revoke"
    # The CA itself, from the server console: a CA created, an OCSP responder certificate issued.
    PKI_CA_CREATE = "pki.ca_create"
    PKI_OCSP_SIGNER_ISSUE = "pki.ocsp_signer_issue"

    # What did not happen: a refused decision, a failed sign-in (cis.audit.refusals).
    ACCESS_REFUSED = "access.refused"
    SIGN_IN_FAILED = "sign_in.failed"
    # A wrong one-time code (self-unlock, contact verification): the attempt counted.
    CODE_FAILED = "code.failed"


# What the audit trail records that nobody asks the policy for, so no interface offers it: a
# sign-in and what follows from it (proven by a signature, not allowed by a right), what CIS does
# by itself (a card flagged as shared, a request past its time limit), and the CA made and kept
# at the server console.
RECORDED_ONLY = frozenset(
    {
        Action.AGENT_SIGN_IN,
        Action.AGENT_SIGN_OUT,
        Action.SESSION_START,
        Action.SESSION_SELECT_ROLE,
        Action.SESSION_FLAG_SHARED_CARD,
        Action.REQUEST_EXPIRE,
        Action.PKI_CA_CREATE,
        Action.PKI_OCSP_SIGNER_ISSUE,
        Action.ACCESS_REFUSED,
        Action.SIGN_IN_FAILED,
        Action.CODE_FAILED,
    }
)
