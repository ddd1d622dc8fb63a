"""Import runs (a file, its report) and the HR records that tie ESR assignments to people."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cis.core.models import TimestampedModel
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.rbac.models import Position, PositionAssignment


class ImportKind(models.TextChoices):
    ODS = "ods", "Organisations (ODS)"
    ESR = "esr", "People and positions (ESR)"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REJECTED = "rejected", "Rejected (nothing changed)"
    FAILED = "failed", "Failed (nothing changed)"


class ImportRun(TimestampedModel):
    """One file given to CIS, from the command line, the API or the portal, and what came of it."""

    kind = models.CharField(max_length=8, choices=ImportKind.choices)
    layout = models.CharField(max_length=20, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    content = models.TextField(blank=True)  # kept until the run is processed, then emptied
    digest = models.CharField(max_length=64)
    partial = models.BooleanField(default=False)
    # Serves new organisations in areas that no RA covers (ODS imports).
    default_ra = models.ForeignKey(
        RegistrationAuthority, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by_name = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    rejected = models.JSONField(default=list, blank=True)  # [{line, field, reason}]
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class HrRecord(TimestampedModel):
    """An ESR assignment (employee number and assignment number) and the CIS person it is."""

    assignment_number = models.CharField(max_length=20, unique=True)
    employee_number = models.CharField(max_length=12, db_index=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hr_records"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    # The position the HR record puts them in; assigned once their identity is verified.
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey(
        PositionAssignment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start_date = models.DateField()
    left_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["employee_number", "assignment_number"]
