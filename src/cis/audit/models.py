"""Append-only audit events, each sealed to the one before it in its chain, and checkpoints.

There may be several chains (CIS_AUDIT_CHAINS): each has a head row that a writer locks, and
each event is numbered (`seq`) and linked within its own chain, so writers on PostgreSQL take
whichever chain is free instead of all waiting for one. `id` orders events across chains.
`hash` is the event's seal: HMAC-SHA256 under the audit key named by `key_id` (cis.audit.chain).
On PostgreSQL a trigger refuses any UPDATE or DELETE of events and checkpoints.
"""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    chain = models.PositiveSmallIntegerField(default=1)
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    actor_ref = models.CharField(max_length=64)
    actor_name = models.CharField(max_length=200, blank=True)
    rule = models.CharField(max_length=120)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=40)
    target_ref = models.CharField(max_length=64, db_index=True)
    # The person the event is about (their user id), whatever its target: their card, a right.
    subject_ref = models.CharField(max_length=64, blank=True, db_index=True)
    organisation_ref = models.CharField(max_length=16, blank=True, db_index=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    request_ref = models.CharField(max_length=40, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    correlation_id = models.CharField(max_length=40, blank=True)
    key_id = models.CharField(max_length=8)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_unique_chain_seq")
        ]
        indexes = [
            models.Index(fields=["actor_ref", "id"], name="audit_actor_idx"),
            models.Index(fields=["at"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_ref}"


class AuditHead(models.Model):
    """A chain's head: a writer locks it, so the chain's events follow strictly one another."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)  # the chain's number
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head at #{self.seq}"


class AuditCheckpoint(models.Model):
    """A copy of a signed checkpoint written to the sink outside the database (the file in the
    data directory). The file is what counts; this copy lets `cis audit verify` notice a
    checkpoint gone from the file, and shows the latest one without reading the file."""

    node = models.CharField(max_length=32)  # which data directory's sink wrote it
    number = models.BigIntegerField()
    at = models.DateTimeField()
    line = models.TextField()  # the checkpoint exactly as written, signature included

    class Meta:
        ordering = ["node", "number"]
        constraints = [
            models.UniqueConstraint(fields=["node", "number"], name="audit_unique_checkpoint")
        ]

    def __str__(self) -> str:
        return f"audit checkpoint #{self.number} of {self.node}"
