"""Smartcards, what happened to them, their certificates, and the agent's steps in progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from cis.core.models import OneTimeCode, TimestampedModel

from .states import LIVE, CancelReason, CardStatus, CodeChannel, OperationKind, TaskKind


class Smartcard(TimestampedModel):
    """One card bound to one holder. A chip may be cleared and issued again as a new record."""

    chip_serial = models.CharField(max_length=64)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="smartcards"
    )
    status = models.CharField(max_length=12, choices=CardStatus.choices, default=CardStatus.ISSUED)
    cancel_reason = models.CharField(max_length=12, choices=CancelReason.choices, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by_ref = models.CharField(max_length=64, blank=True)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    # The SO PIN, envelope-encrypted (cis.smartcards.envelope); never shown, logged or audited.
    so_pin_sealed = models.TextField(editable=False)
    # New SO PINs handed to an agent whose rotation has not been confirmed yet: the card holds
    # either the current one or one of these, so all are kept until a rotation is confirmed.
    so_pin_unconfirmed = models.JSONField(default=list, editable=False)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chip_serial"],
                condition=Q(status__in=sorted(LIVE)),
                name="smartcards_one_live_card_per_chip",
            ),
            models.CheckConstraint(
                condition=Q(status=CardStatus.CANCELLED, cancel_reason__gt="")
                | (~Q(status=CardStatus.CANCELLED) & Q(cancel_reason="")),
                name="smartcards_cancelled_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="smartcards_status_idx")]

    def __str__(self) -> str:
        return f"Smartcard {self.chip_serial} ({self.get_status_display()})"

    def __repr__(self) -> str:
        return f"<Smartcard {self.pk} {self.chip_serial} {self.status}>"

    @property
    def so_pin_rotation_due(self) -> bool:
        return bool(self.so_pin_unconfirmed)

    @property
    def live(self) -> bool:
        return self.status in LIVE


class CardEvent(models.Model):
    """The card's own history, for its page; the audit trail holds the authoritative record."""

    card = models.ForeignKey(Smartcard, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    actor_ref = models.CharField(max_length=64)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} on card {self.card_id}"


class CardOperation(TimestampedModel):
    """A step the agent started and must finish (issue, unlock, renew, repair, clear)."""

    ref = models.CharField(max_length=32, unique=True)
    card = models.ForeignKey(Smartcard, on_delete=models.PROTECT, related_name="operations")
    kind = models.CharField(max_length=12, choices=OperationKind.choices)
    # The policy action that allowed the step; every later step is checked against it again.
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_ref = models.CharField(max_length=64)
    rule = models.CharField(max_length=120)
    challenge = models.CharField(max_length=64)
    # For steps started without a signed-in agent (self-unlock), the secret that continues them.
    secret_digest = models.CharField(max_length=64, blank=True)
    new_so_pin_sealed = models.TextField(blank=True, editable=False)
    # The approved card request this operation fulfils: applied when the operation completes.
    request = models.ForeignKey(
        "workflow.Request",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="card_operations",
    )
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of card {self.card_id} ({self.ref})"

    @property
    def open(self) -> bool:
        return self.completed_at is None and self.abandoned_at is None


class CardTask(TimestampedModel):
    """A card step the portal asked for, for the workstation agent to carry out.

    One card (or, to issue, one holder), one person, one signed-in browser session: the page
    gets the reference and a secret once, hands them to the local agent, and the agent claims
    the task with them, once, before it expires. Only a digest of the secret is kept.
    """

    ref = models.CharField(max_length=32, unique=True)
    secret_digest = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=TaskKind.choices)
    card = models.ForeignKey(
        Smartcard, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="card_tasks"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The browser sign-in session (cis.signin) the task belongs to; it dies with it.
    signin_session_ref = models.CharField(max_length=36)
    params = models.JSONField(default=dict)
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_chip = models.CharField(max_length=64, blank=True)
    operation = models.ForeignKey(
        CardOperation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} task {self.ref}"


class CardCertificate(TimestampedModel):
    """A certificate issued for a card; installed once the agent says it is on the card."""

    card = models.ForeignKey(Smartcard, on_delete=models.PROTECT, related_name="certificates")
    certificate = models.OneToOneField(
        "pki.Certificate", on_delete=models.PROTECT, related_name="card_link"
    )
    operation = models.ForeignKey(
        CardOperation, null=True, on_delete=models.PROTECT, related_name="certificates"
    )
    installed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"certificate {self.certificate_id} on card {self.card_id}"


class UnlockCode(OneTimeCode):
    """A self-unlock one-time code (cis.core.codes)."""

    card = models.ForeignKey(Smartcard, on_delete=models.PROTECT, related_name="unlock_codes")
    channel = models.CharField(max_length=8, choices=CodeChannel.choices)
    sent_to = models.CharField(max_length=254)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"unlock code for card {self.card_id}"


class AgentToken(TimestampedModel):
    """A short-lived bearer token the agent got by signing a challenge with a card's key."""

    digest = models.CharField(max_length=64, unique=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agent_tokens"
    )
    card = models.ForeignKey(Smartcard, on_delete=models.PROTECT, related_name="agent_tokens")
    certificate = models.ForeignKey("pki.Certificate", on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"agent token of {self.person_id} via card {self.card_id}"


class AgentChallenge(models.Model):
    """A single-use nonce the agent signs with the card to sign in."""

    value = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.value
