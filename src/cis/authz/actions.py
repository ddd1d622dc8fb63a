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
    RA_MANAGE = "ra.manage"
    CATALOGUE_MANAGE = "catalogue.manage"

    POSITION_VIEW = "position.view"
    POSITION_CREATE = "position.create"
    POSITION_UPDATE = "position.update"
    ASSIGNMENT_VIEW = "assignment.view"
    ASSIGNMENT_CREATE = "assignment.create"
    ASSIGNMENT_END = "assignment.end"

    RIGHT_VIEW = "right.view"
    RIGHT_GRANT = "right.grant"
    RIGHT_REVOKE = "right.revoke"

    AUDIT_VIEW = "audit.view"

    # Workflow (requests to the RA, issue 6)
    REQUEST_RAISE = "request.raise"
    REQUEST_VIEW = "request.view"
    REQUEST_APPROVE = "request.approve"
    REQUEST_REJECT = "request.reject"
    REQUEST_CANCEL = "request.cancel"
    REQUEST_ESCALATE = "request.escalate"

    # Smartcards (issue 4): the target is always the card's holder (a Person).
    CARD_VIEW = "card.view"
    CARD_ISSUE = "card.issue"
    CARD_REPORT_LOCKED = "card.report_locked"
    CARD_UNLOCK_ASSISTED = "card.unlock_assisted"
    CARD_UNLOCK_SELF = "card.unlock_self"
    CARD_RENEW = "card.renew"
    CARD_RENEW_EXPIRED = "card.renew_expired"
    CARD_REPORT_LOSS = "card.report_loss"
    CARD_CANCEL = "card.cancel"
    CARD_REPAIR = "card.repair"
    CARD_CLEAR = "card.clear"
    CARD_REPLACE = "card.replace"

    # Sign-in (issue 5): the target is the person whose sessions or authenticators they are.
    SESSION_VIEW = "session.view"
    SESSION_END = "session.end"
    AUTHENTICATOR_REGISTER = "authenticator.register"
    AUTHENTICATOR_REVOKE = "authenticator.revoke"
    OIDC_CLIENT_MANAGE = "oidc_client.manage"

    # PKI (issue 3): the target is the certificate, or its holder (a Person) when issuing.
    CERTIFICATE_VIEW = "certificate.view"
    CERTIFICATE_ISSUE = "certificate.issue"
    CERTIFICATE_REVOKE = "certificate.revoke"
