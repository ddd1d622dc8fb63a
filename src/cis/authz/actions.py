"""Every action CIS knows; no permission string appears anywhere else."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    PERSON_VIEW = "person.view"
    PERSON_SEARCH = "person.search"
    PERSON_CREATE = "person.create"
    PERSON_UPDATE_DETAILS = "person.update_details"
    PERSON_UPDATE_CONTACT = "person.update_contact"
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
