"""Requests to the RA, what happened to each, their escalations and the emails they cause."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cis.organisations.models import Organisation, RegistrationAuthority

from .states import CLOSED, OPEN, EscalationLevel, EventKind, RequestState, RequestType


class Request(models.Model):
    """One thing a Sponsor (or RA staff acting for someone) has asked the RA to do."""

    request_type = models.CharField(max_length=24, choices=RequestType.choices)
    state = models.CharField(
        max_length=12, choices=RequestState.choices, default=RequestState.SUBMITTED
    )
    # Empty only for "register a new person" until it is applied.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests_about",
    )
    # Where the request is "at": this decides who in an organisation's scope sees and acts on it.
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ra = models.ForeignKey(RegistrationAuthority, on_delete=models.PROTECT, related_name="+")
    payload = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=1000, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests_raised",
    )
    raised_at = models.DateTimeField()
    due_at = models.DateTimeField()
    escalation_level = models.PositiveSmallIntegerField(
        choices=EscalationLevel.choices, default=EscalationLevel.NONE
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The RA Agent an RA Manager or the service desk handed the request to (after an escalation).
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The approval policy for its type when it was raised: how many different approvers, and
    # which CIS rights they must hold (empty: the policy's default, RA Agents and up).
    approvals_needed = models.PositiveSmallIntegerField(default=1)
    approver_rights = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=1000, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    result_ref = models.CharField(max_length=80, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["state", "due_at"], name="workflow_req_due_idx"),
            models.Index(fields=["ra", "state"], name="workflow_req_ra_idx"),
            models.Index(fields=["closed_at"], name="workflow_req_closed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.get_request_type_display()}"

    @property
    def ref(self) -> str:
        return f"REQ-{self.pk:06d}" if self.pk else "REQ-new"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    @property
    def is_closed(self) -> bool:
        return self.state in CLOSED

    @property
    def subject_label(self) -> str:
        if self.subject is not None:
            return self.subject.full_name
        given = self.payload.get("given_name", "")
        family = self.payload.get("family_name", "")
        return f"{given} {family} (new)".strip()


class RequestApproval(models.Model):
    """One approver's yes; sensitive types need two from different people."""

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="workflow_one_approval_each"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request.ref} approved by {self.approver_id}"


class RequestEvent(models.Model):
    """The request's own history, shown on its page: every move and who made it."""

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="history")
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=200)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    note = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request.ref} {self.kind} by {self.actor_name}"


class Escalation(models.Model):
    """A request taken above the RA Agents, by the clock or by hand, open until it closes."""

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="escalations")
    level = models.PositiveSmallIntegerField(choices=EscalationLevel.choices)
    # Empty when the schedule escalated it because the due time passed.
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=1000)
    raised_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "level"], name="workflow_one_escalation_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request.ref} escalated to {self.get_level_display()}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Notification(models.Model):
    """An email CIS owes someone; the row is the ledger that makes each one go out exactly once.

    Rows are written in the same transaction as the event they tell of, unique per (event,
    recipient); the sending job claims unsent rows under a row lock, so two machines running the
    job at once never send the same one twice.
    """

    event_key = models.CharField(max_length=120)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    request = models.ForeignKey(
        Request, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_key", "recipient"], name="workflow_notify_once_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["sent_at", "created_at"], name="workflow_notify_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_key} to {self.recipient}"


class ApprovalPolicy(models.Model):
    """How many different people must approve a type of request, and with which rights (n of m).

    Set by the service desk; a request keeps the policy in force when it was raised.
    """

    request_type = models.CharField(max_length=24, choices=RequestType.choices, unique=True)
    approvals_needed = models.PositiveSmallIntegerField(default=1)
    approver_rights = models.JSONField(default=list, blank=True)
    changed_at = models.DateTimeField()
    changed_by_ref = models.CharField(max_length=40)
    changed_by_name = models.CharField(max_length=200)

    class Meta:
        ordering = ["request_type"]
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return f"{self.request_type}: {self.approvals_needed} approver(s)"
