"""The card lifecycle: statuses, cancellation reasons, and which step may follow which."""

from __future__ import annotations

from django.db import models


class CardStatus(models.TextChoices):
    ISSUED = "issued", "Issued (being personalised)"
    ACTIVE = "active", "Active"
    LOCKED = "locked", "Locked"
    CANCELLED = "cancelled", "Cancelled"
    CLEARED = "cleared", "Cleared for reuse"


# A chip has at most one card record in these statuses; the others are final.
LIVE = frozenset({CardStatus.ISSUED, CardStatus.ACTIVE, CardStatus.LOCKED})


class CancelReason(models.TextChoices):
    LOST = "lost", "Lost"
    STOLEN = "stolen", "Stolen"
    DAMAGED = "damaged", "Damaged"
    LEFT = "left", "Holder left"
    FAULTY = "faulty", "Faulty"


# What a holder may report about their own card (DESIGN §2); the rest is for the RA.
HOLDER_REPORTABLE = frozenset({CancelReason.LOST, CancelReason.STOLEN, CancelReason.DAMAGED})

# The revocation reason (cis.pki.states.RevocationReason) for each way a card ends.
REVOCATION_FOR_CANCEL = {
    CancelReason.LOST: "key_compromise",
    CancelReason.STOLEN: "key_compromise",
    CancelReason.DAMAGED: "cessation_of_operation",
    CancelReason.LEFT: "affiliation_changed",
    CancelReason.FAULTY: "cessation_of_operation",
}
REVOCATION_FOR_CLEAR = "cessation_of_operation"
REVOCATION_FOR_RENEWAL = "superseded"


class OperationKind(models.TextChoices):
    ISSUE = "issue", "Issue"
    UNLOCK = "unlock", "Assisted unlock"
    SELF_UNLOCK = "self_unlock", "Self-unlock"
    RENEW = "renew", "Renew"
    REPAIR = "repair", "Repair"
    CLEAR = "clear", "Clear for reuse"


# Operations that end with a new certificate on the card.
CERTIFYING = frozenset({OperationKind.ISSUE, OperationKind.RENEW, OperationKind.REPAIR})
# Operations that release the card's SO PIN to the agent.
RELEASING_SO_PIN = frozenset(
    {
        OperationKind.ISSUE,
        OperationKind.UNLOCK,
        OperationKind.SELF_UNLOCK,
        OperationKind.REPAIR,
        OperationKind.CLEAR,
    }
)


class TaskKind(models.TextChoices):
    """What the portal may ask the workstation agent to do with the card in the reader."""

    RENEW = "renew", "Renew the certificate"
    CHANGE_PASSCODE = "change_passcode", "Change the passcode"
    SELF_UNLOCK = "self_unlock", "Unlock with a one-time code"
    UNLOCK = "unlock", "Unlock with the holder present"
    ISSUE = "issue", "Issue a new card"
    REPLACE = "replace", "Replace the card"


# Tasks that work on a blank card rather than on the card the task names.
ON_BLANK_CARD = frozenset({TaskKind.ISSUE, TaskKind.REPLACE})


class CodeChannel(models.TextChoices):
    EMAIL = "email", "Email"
    MOBILE = "mobile", "Mobile"
