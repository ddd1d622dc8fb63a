"""The request lifecycle: its types, its states, and which moves between states are allowed."""

from __future__ import annotations

from django.db import models

from cis.core.errors import InvalidState


class RequestType(models.TextChoices):
    PERSON_REGISTER = "person_register", "Register a new person"
    CARD_ISSUE = "card_issue", "Issue a new card"
    CARD_REPLACE = "card_replace", "Replace a card"
    # After expiry only an RA Agent renews, with the holder present (DESIGN §5): ask for it.
    CARD_RENEW = "card_renew", "Renew an expired certificate"
    POSITION_ADD = "position_add", "Add a position"
    POSITION_END = "position_end", "End a position"
    DETAILS_CHANGE = "details_change", "Change personal details"
    PROFILE_CLOSE = "profile_close", "Close a profile"
    PROFILE_REOPEN = "profile_reopen", "Reopen a profile"
    RIGHT_GRANT = "right_grant", "Grant a CIS right"
    RIGHT_REVOKE = "right_revoke", "Revoke a CIS right"


class RequestState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    ESCALATED = "escalated", "Escalated"
    # Approved and waiting for its change to be made elsewhere (a card to be issued).
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class EscalationLevel(models.IntegerChoices):
    NONE = 0, "Not escalated"
    RA_MANAGER = 1, "RA Manager"
    SERVICE_DESK = 2, "Service desk"


class EventKind(models.TextChoices):
    RAISED = "raised", "Raised"
    APPROVAL = "approval", "Approved (first of two)"
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    ESCALATED = "escalated", "Escalated"
    EXPIRED = "expired", "Expired"
    NOTE = "note", "Note"
    COMMENT = "comment", "Comment"
    REASSIGNED = "reassigned", "Reassigned"
    PARTIAL = "partial", "Approved in part"


# Requests that someone still has to act on.
OPEN = frozenset({RequestState.SUBMITTED, RequestState.ESCALATED})
# Requests nobody acts on again.
CLOSED = frozenset(
    {
        RequestState.APPLIED,
        RequestState.REJECTED,
        RequestState.CANCELLED,
        RequestState.EXPIRED,
    }
)

# Types whose decision belongs to an RA Manager alone (DESIGN §2: RA Managers grant rights).
RIGHT_TYPES = frozenset({RequestType.RIGHT_GRANT, RequestType.RIGHT_REVOKE})
# Types applied by another part of CIS after approval: the card is issued (or its certificate
# renewed) at a workstation, and that card operation marks the request applied.
CARD_TYPES = frozenset({RequestType.CARD_ISSUE, RequestType.CARD_REPLACE, RequestType.CARD_RENEW})
# Types about a person who does not exist yet.
NO_SUBJECT_TYPES = frozenset({RequestType.PERSON_REGISTER})

TRANSITIONS: dict[str, frozenset[str]] = {
    RequestState.SUBMITTED: frozenset(
        {
            RequestState.ESCALATED,
            RequestState.APPROVED,
            RequestState.APPLIED,
            RequestState.REJECTED,
            RequestState.CANCELLED,
            RequestState.EXPIRED,
        }
    ),
    RequestState.ESCALATED: frozenset(
        {
            # Reassigned to an RA Agent by the RA Manager or the service desk.
            RequestState.SUBMITTED,
            RequestState.ESCALATED,
            RequestState.APPROVED,
            RequestState.APPLIED,
            RequestState.REJECTED,
            RequestState.CANCELLED,
            RequestState.EXPIRED,
        }
    ),
    RequestState.APPROVED: frozenset({RequestState.APPLIED, RequestState.CANCELLED}),
    RequestState.APPLIED: frozenset(),
    RequestState.REJECTED: frozenset(),
    RequestState.CANCELLED: frozenset(),
    RequestState.EXPIRED: frozenset(),
}


def check_transition(current: str, new: str, *, ref: str, closed_by: str = "") -> None:
    """Refuse a move the lifecycle does not allow, saying what happened to the request."""
    if new in TRANSITIONS[current]:
        return
    label = RequestState(current).label.lower()
    who = f" by {closed_by}" if closed_by else ""
    if current in CLOSED:
        raise InvalidState(f"Request {ref} has already been {label}{who}; nothing more can change.")
    if current == RequestState.APPROVED:
        raise InvalidState(
            f"Request {ref} has already been approved{who} and is waiting for the card to be "
            "issued."
        )
    raise InvalidState(f"Request {ref} is {label}; it cannot become {RequestState(new).label}.")
