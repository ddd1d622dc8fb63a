"""The national RBAC catalogue, and the positions people hold at organisations."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cis.core.models import TimestampedModel
from cis.organisations.models import Organisation


class CatalogueEntry(TimestampedModel):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    # Entries not yet checked against the national RBAC database are marked as illustrative.
    illustrative = models.BooleanField(default=False)
    retired = models.BooleanField(default=False)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Activity(CatalogueEntry):
    class Meta(CatalogueEntry.Meta):
        verbose_name_plural = "activities"


class AreaOfWork(CatalogueEntry):
    pass


class JobRole(CatalogueEntry):
    sector_code = models.CharField(max_length=8)
    group_code = models.CharField(max_length=8)
    # The baseline policy: the activities this role carries by default.
    baseline_activities = models.ManyToManyField(Activity, blank=True, related_name="job_roles")

    @property
    def full_code(self) -> str:
        return f"{self.sector_code}:{self.group_code}:{self.code}"


class PositionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class Position(TimestampedModel):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="positions"
    )
    name = models.CharField(max_length=200)
    job_roles = models.ManyToManyField(JobRole, related_name="positions")
    activities = models.ManyToManyField(Activity, blank=True, related_name="positions")
    area_of_work = models.ForeignKey(AreaOfWork, null=True, blank=True, on_delete=models.PROTECT)
    workgroups = models.JSONField(default=list, blank=True)
    assignable = models.BooleanField(default=False)
    status = models.CharField(
        max_length=8, choices=PositionStatus.choices, default=PositionStatus.ACTIVE
    )

    class Meta:
        ordering = ["organisation__ods_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="unique_position_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.organisation.ods_code}"


class PositionAssignment(TimestampedModel):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="assignments")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    request_ref = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="assignment_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.position}"
